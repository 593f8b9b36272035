# The admin console (/admin): navigation, layout and the pages' own words.
# Audit event names and outcomes are in events.ftl.

console-nav = Admin console
console-title = { $page } · Admin
console-overview = Overview
console-users = Users
console-clients = Clients
console-audit = Audit log
console-keys = Signing keys
console-providers = Sign-in providers
console-copy-id = Copy the full id
console-id = Id
console-cancel = Cancel
console-delete-user = Delete user
console-confirm-delete-user = Delete { $username }?
console-confirm-sessions-end = { $count ->
    [one] Their one session ends.
   *[other] Their { $count } sessions end.
}
console-confirm-grants-revoked = { $count ->
    [one] The one app they allowed loses its access.
   *[other] The { $count } apps they allowed lose their access.
}

# users: the list (/admin/users) and a user's page (/admin/users/{id})
console-users-title = Users
console-users-count = { $count ->
    [0] No users yet
    [one] 1 user
   *[other] { $shown } users
}
console-users-matching = { $count ->
    [0] No user matches “{ $q }”
    [one] 1 user matches “{ $q }”
   *[other] { $shown } users match “{ $q }”
}
console-users-range = showing { $first }–{ $last }
console-users-page = Page { $page } of { $pages }
console-users-pages = Pages
console-users-previous = Previous
console-users-next = Next
console-users-search-label = Search by username or email
console-users-search = Search
console-users-clear = Show everyone
console-users-empty-page = No users yet.
console-users-none = No user matches.
console-users-col-select = Select
console-users-col-username = Username
console-users-col-email = Email
console-users-col-account = Account and sign-in
console-users-col-last-sign-in = Last sign-in
console-users-col-created = Created
console-users-select = Select { $username }
console-users-never = never
console-users-bulk-legend = With the selected users
console-users-bulk-end-sessions = End sessions
console-users-bulk-disable = Disable
console-badge-admin = admin
console-badge-disabled = disabled
console-badge-invited = invited, no sign-in yet
console-badge-passkeys = { $count ->
    [one] passkey
   *[other] { $count } passkeys
}
console-badge-second-factor = second factor
console-badge-password-only = password only
console-badge-linked = linked account
console-users-and-more = { $names } and { $count } more
console-users-skipped = Skipped: { $names }.
console-users-skip-yourself = { $username } (that is you)
console-users-skip-last-admin = { $username } (the last administrator)
console-users-skip-already-disabled = { $username } (already disabled)
console-users-confirm-disable = { $count ->
    [one] Disable 1 user: { $names }?
   *[other] Disable { $count } users: { $names }?
}
console-users-confirm-disable-means = Their sessions, remembered devices and tokens end, and they cannot sign in until an administrator enables them again.
console-users-disable-label = { $count ->
    [one] Disable 1 user
   *[other] Disable { $count } users
}
console-users-confirm-end-sessions = { $count ->
    [one] End every session of 1 user: { $names }?
   *[other] End every session of { $count } users: { $names }?
}
console-users-confirm-end-means = Their sessions, remembered devices and tokens end; they can sign in again at once.
console-users-end-label = { $count ->
    [one] End the sessions of 1 user
   *[other] End the sessions of { $count } users
}
console-users-done-disabled = { $count ->
    [0] No user disabled.
    [one] 1 user disabled: { $names }.
   *[other] { $count } users disabled: { $names }.
}
console-users-done-sessions-ended = { $count ->
    [0] No sessions ended.
    [one] Sessions of 1 user ended: { $names }.
   *[other] Sessions of { $count } users ended: { $names }.
}
console-users-done-none-selected = Select users first, with the boxes in the first column.
console-users-invite = Invite user
console-users-invite-hint = They get a mail with a one-time link to set up a passkey or a password.
console-users-invite-username = Username
console-users-invite-email = Email
console-users-invite-taken = That username is taken.
console-users-invite-invalid = Check the username (1 to 64 letters, digits or . - _) and the email address.
console-user-invited = Invitation mailed to { $email }.
console-user-invite-mailed = { $username } was invited: this set-up link was mailed to { $email }. It works once, within { $hours } hours.
console-user-invite-link = Set-up link
console-user-copy = Copy link
console-user-copied = Copied.
console-user-email-verified = verified
console-user-email-unverified = not verified
console-user-never-signed-in = never signed in
console-user-yourself = This is you: you cannot disable, demote or delete yourself.
console-user-methods = Sign-in methods
console-user-password-set = Password set
console-user-password-passkey-only = No password (passkey only)
console-user-password-linked = No password (signs in with a linked account)
console-user-password-invited = No password yet: the invitation is not accepted
console-user-password-none = No password
console-user-app-on = { $count ->
    [0] Authenticator app, no backup codes left
    [one] Authenticator app, 1 backup code left
   *[other] Authenticator app, { $count } backup codes left
}
console-user-app-off = No authenticator app
console-user-app-off-codes = { $count ->
    [one] No authenticator app; 1 backup code left
   *[other] No authenticator app; { $count } backup codes left
}
console-user-passkeys = Passkeys
console-user-no-passkeys = No passkey.
console-user-added = added
console-user-last-used = last used
console-user-never-used = never used
console-user-linked = Linked accounts
console-user-sessions = Sessions
console-user-no-sessions = Not signed in anywhere.
console-user-unknown-device = Unknown device
console-user-unknown-address = unknown address
console-user-signed-in = signed in
console-user-with = with { $methods }
console-user-last-active = last active
console-user-apps = Connected apps
console-user-no-apps = No app has access.
console-user-app-can = allowed to { $what }
console-user-allowed = connected
console-user-scope-openid = know who they are
console-user-scope-profile = see their name and profile
console-user-scope-email = see their email address
console-user-scope-offline-access = stay connected while they are away
console-user-scope-groups = see their groups
console-user-scope-admin = administer latchkey
console-user-scope-scim = provision users (SCIM)
console-user-actions = Actions
console-user-risk = Risky sign-ins
console-user-risk-intro = How sign-ins that do not look like this user's usual ones are checked: off (no extra step), standard (a code by email or the second factor when a sign-in looks risky) or strict (also for smaller changes, such as a new country or network).
console-user-risk-policy = Policy
console-user-risk-default = Default: { $policy }
console-user-risk-save = Save policy
console-risk-policy-off = Off
console-risk-policy-standard = Standard
console-risk-policy-strict = Strict
console-user-events = Recent events
console-user-action-end-sessions = End all sessions
console-user-action-disable = Disable user
console-user-action-enable = Enable user
console-user-action-grant-admin = Make admin
console-user-action-revoke-admin = Remove admin rights
console-user-action-reset-mfa = Reset second factor
console-user-action-recovery-link = Mail a recovery link
console-user-confirm-disable = Disable { $username }?
console-user-confirm-disable-means = They cannot sign in until an administrator enables them again.
console-user-confirm-tokens-end = The tokens their apps hold stop working.
console-user-confirm-reset-mfa = Reset the second factor of { $username }?
console-user-confirm-reset-removes = { $count ->
    [0] The authenticator app is removed.
    [one] The authenticator app and 1 backup code are removed.
   *[other] The authenticator app and { $count } backup codes are removed.
}
console-user-confirm-reset-removes-codes = { $count ->
    [one] 1 backup code is removed.
   *[other] { $count } backup codes are removed.
}
console-user-confirm-reset-told = They are told by mail; until they set up a new second factor, their password or passkey alone signs them in.
console-user-confirm-end-sessions = { $count ->
    [0] End the remembered devices and tokens of { $username }?
    [one] End the one session of { $username }?
   *[other] End { $count } sessions of { $username }?
}
console-user-confirm-devices = { $count ->
    [one] Their one remembered device is forgotten.
   *[other] Their { $count } remembered devices are forgotten.
}
console-user-confirm-end-means = They can sign in again at once.
console-user-confirm-revoke-admin = Remove the admin rights of { $username }?
console-user-confirm-revoke-admin-means = They can no longer open this console or act as an administrator.
console-user-done-sessions-ended = { $count ->
    [0] { $username } had no open session; their remembered devices and tokens ended.
    [one] 1 session of { $username } ended, with their remembered devices and tokens.
   *[other] { $count } sessions of { $username } ended, with their remembered devices and tokens.
}
console-user-done-disabled = { $username } disabled: every session and token ended.
console-user-done-enabled = { $username } enabled: they can sign in again.
console-user-done-admin-granted = { $username } is now an administrator.
console-user-done-admin-revoked = { $username } is no longer an administrator.
console-user-done-mfa-reset = The second factor of { $username } was reset and their sessions ended; they were told by mail.
console-user-done-recovery-link = A recovery link was mailed to { $username }.
console-user-done-deleted = { $username } deleted.

# clients
console-name = Name
console-type = Type
console-never = never
console-none = none
console-disabled = disabled
console-user = User
console-scopes = Scopes
console-actions = Actions
console-edit = Edit
console-revoke = Revoke
console-clients-count = { $count ->
    [one] One client.
   *[other] { $count } clients.
}
console-client-id = Client ID
console-client-secret = Client secret
console-client-created = Created. Copy the secret now: it is shown only once.
console-new-secret = New secret (shown once):
console-secret-rotated = Secret rotated; the old one no longer works.
console-client-public = Public
console-client-confidential = Confidential
console-client-self-registered = registered itself
console-client-metadata-document = described by its metadata document
console-client-document-on = its document is on { $host }
console-grant-types = Grant types
console-grant-authorization-code = Sign-in (authorization code)
console-grant-refresh-token = Refresh tokens
console-grant-client-credentials = Acting for itself (client credentials)
console-grant-device-code = Devices without a browser (device code)
console-grant-token-exchange = Token exchange
console-users-with-grants = Users
console-last-used = Last used
console-create-client = Create client
console-redirect-uris = Redirect URIs
console-one-per-line = One per line.
console-public-client-help = Public client (single-page or mobile app: no secret, PKCE)
console-grant-types-help = authorization_code, refresh_token, client_credentials (confidential only), urn:ietf:params:oauth:grant-type:device_code (devices without a browser: no redirect URI needed)
console-allowed-scopes = Allowed scopes
console-post-logout-uris = Post-logout redirect URIs
console-backchannel-uri = Back-channel logout URI
console-token-exchange-to = May exchange tokens into
console-policies = Policies
console-require-par = Must push its authorization requests (PAR)
console-require-dpop = Its tokens must be bound to a key (DPoP)
console-jwks-uri = Where it publishes its keys (JWKS URL)
console-keys-private-key-jwt = It signs in with its keys (private_key_jwt).
console-keys-registered = Its keys are registered here.
console-keys-none = No keys: it signs in with its secret, or is public.
console-save-policies = Save policies
console-grants = Grants
console-no-grants = No user has allowed this client yet.
console-refresh-families = Refresh token families
console-revoke-grant-of = Revoke the grant of { $username }
console-logo-uri = Logo URL
console-policy-uri = Privacy policy URL
console-tos-uri = Terms of service URL
console-links-help = Shown on the consent page; https only (http on localhost).
console-save-client = Save client
console-revoke-all-count = { $count ->
    [one] Revoke the one grant
   *[other] Revoke all { $count } grants
}
console-confirm-revoke-all = { $count ->
    [one] Revoke the one grant of { $client }?
   *[other] Revoke { $count } grants of { $client }?
}
console-confirm-revoke-all-detail = Their refresh tokens stop working at once; each user is asked again at the next sign-in.
console-confirm-client-grants-end = { $count ->
    [0] No user has allowed it yet.
    [one] The grant of one user is revoked.
   *[other] The grants of { $count } users are revoked.
}
console-disable-client = Disable client
console-enable-client = Enable client
console-confirm-disable-client = Disable { $client }?
console-delete-client = Delete client
console-confirm-delete-client = Delete { $client }?
console-confirm-delete-client-detail = Its settings are gone for good; register it again to bring it back.
console-rotate-secret = Rotate secret
console-confirm-rotate-secret = Rotate the secret of { $client }?
console-confirm-rotate-secret-detail = The old secret stops working at once: the app needs the new one before its next request.

# overview: the figures of now and the charts of the last 30 days (/admin)
console-overview-now = Right now
console-overview-users = Users
console-overview-sessions = Active sessions
console-overview-with-passkey = Users with a passkey
console-overview-with-second-factor = Users with a second factor
console-overview-password-only = Password-only users
console-overview-failures-24h = Sign-in failures, last 24 h
console-overview-reuse-24h = Refresh-token reuse, last 24 h
console-overview-share = { $pct }% of users
console-overview-days-note = The charts show the last 30 days, in UTC; today up to now.
console-overview-sign-ins = Sign-ins per day
console-overview-failures = Sign-in failures and throttling per day
console-overview-adoption = Passkey and second-factor adoption
console-overview-adoption-note = Users at the end of each day, worked out from the audit log; deleted accounts are not counted.
console-overview-method-passkey = Passkey
console-overview-method-password-second-factor = Password and second factor
console-overview-method-password-only = Password only
console-overview-method-federated = Sign-in provider
console-overview-method-other = Other
console-overview-failure-password = Wrong password
console-overview-failure-second-factor = Wrong second-factor code
console-overview-failure-refused = Passkey or provider refused
console-overview-failure-throttled = Throttled: too many attempts
console-overview-failure-rate-limited = Over a rate limit
console-overview-adoption-passkey = Users with a passkey
console-overview-adoption-second-factor = Users with a second factor
console-overview-numbers = Numbers
console-overview-day-column = Day
console-overview-total = Total
# { $month }: month-1…month-12 (common.ftl)
console-overview-date = { $day } { $month } { $year }
# { $month }: console-overview-month-1…12 below
console-overview-date-short = { $day } { $month }
console-overview-weekday-date = { $weekday }, { $date }
console-overview-part = { $series }: { $count }
console-overview-summary = { $title }, { $from } to { $to }: { $total } in all ({ $parts }).
console-overview-peak = Most on { $day }: { $count }.
console-overview-none = None in these 30 days.
console-overview-line-part = { $series } from { $first } to { $last }
console-overview-line-summary = { $title }, { $from } to { $to }: { $parts }.
console-overview-month-1 = Jan
console-overview-month-2 = Feb
console-overview-month-3 = Mar
console-overview-month-4 = Apr
console-overview-month-5 = May
console-overview-month-6 = Jun
console-overview-month-7 = Jul
console-overview-month-8 = Aug
console-overview-month-9 = Sep
console-overview-month-10 = Oct
console-overview-month-11 = Nov
console-overview-month-12 = Dec

# keys
console-keys-lead = latchkey signs tokens with these keys; relying parties fetch the published ones from /jwks. A new key is published before it signs, an old one stays published until every token it signed has expired.
console-key-id = Key id
console-algorithm = Algorithm
console-state = State
console-created = Created
console-key-active = signing now
console-key-next = published, signs next
console-key-published = published
console-key-retired = retired
console-rotate-keys = Rotate now

# providers
console-providers-lead = Upstream OpenID Connect providers users can sign in with ("Continue with …"). Register each one's callback URL at the provider.
console-issuer = Issuer
console-domains = Domains
console-existing-email = Existing email
console-existing-email-long = When an account already has the email
console-signup = Sign-up
console-callback-url = Callback URL
console-on = on
console-off = off
console-enabled = enabled
console-enable = Enable
console-disable = Disable
console-remove = Remove
console-add-provider = Add provider
console-provider-name = Name (on the button)
console-provider-domains = Email domains that go to it (space-separated)
console-link-existing-sign-in = the user signs in to it first, then it is linked
console-link-verified-email = linked when the provider verified the email and its domain is listed
console-link-existing-sign-in-short = after signing in to it
console-link-verified-email-short = when the email is verified
console-provider-signup = Create an account at a first sign-in
console-provider-trust-mfa = Count the provider's multi-factor sign-ins here
console-provider-logout = Signing out here also signs out of the provider

# notices (fixed texts an action leaves for the next page)
console-notice-sessions-ended = Every session, remembered device and token of the user ended.
console-notice-user-disabled = User disabled; every session and token ended.
console-notice-user-enabled = User enabled.
console-notice-admin-granted = The user is now an admin.
console-notice-admin-revoked = Admin rights removed.
console-notice-mfa-reset = Authenticator app and backup codes removed; the user was told.
console-notice-recovery-link-sent = Recovery link sent.
console-notice-user-deleted = User deleted.
console-notice-grants-revoked = All grants revoked; their refresh tokens no longer work.
console-notice-user-grant-revoked = The user's grant revoked; its refresh tokens no longer work.
console-notice-client-disabled = Client disabled.
console-notice-client-enabled = Client enabled.
console-notice-client-updated = Client updated.
console-notice-client-deleted = Client deleted; what was issued to it was revoked first.
console-notice-client-policies-updated = Client policies saved.
console-notice-keys-rotated = New keys published; they sign in 10 minutes.

## Security alerts (/admin/alerts, issue #32): console/alerts.rs.
console-alerts = Security alerts
console-alerts-lead = latchkey watches the security events for what no single one says: one account failing again and again, one address failing on many accounts, a refresh token used twice, a sign-in from a new country, a new device right after a recovery or an email change. Each is raised once an hour at most; later sightings add to its count.
console-alerts-open = Open
console-alerts-none-open = No open alerts: nothing needs a look.
console-alerts-acknowledged = Acknowledged
console-alerts-none-acknowledged = None acknowledged yet.
console-alerts-account = Account
console-alerts-address = Address
console-alerts-first-seen = First seen
console-alerts-last-seen = Last seen
console-alerts-count = Events
console-alerts-acknowledge = Acknowledge
console-alerts-acknowledged-by = Acknowledged by { $name }, { $when }
console-alerts-someone = an administrator
console-notice-alert-acknowledged = Alert acknowledged.
console-notice-risk-policy-set = Risk policy saved.
console-overview-open-alerts = { $count ->
    [0] No open security alerts.
    [one] One open security alert.
   *[other] { $count } open security alerts.
}
alert-kind-failure-spike = Many failed sign-ins on one account
alert-kind-credential-stuffing = One address failing on many accounts
alert-kind-refresh-token-reuse = Refresh token used twice
alert-kind-new-country = Sign-in from a new country
alert-kind-new-device-after-change = New device right after an account change
alert-evidence-failure-spike = { $failures } failed sign-ins on this account within { $minutes } minutes.
alert-evidence-credential-stuffing = Failed password sign-ins on { $accounts } different accounts from this address within { $minutes } minutes.
alert-evidence-refresh-token-reuse = A refresh token of { $client } was used a second time, so someone holds a copy. The tokens of that sign-in were revoked.
alert-evidence-new-country = A sign-in from { $country }, a country this account has not signed in from lately.
alert-evidence-after-recovery = A sign-in from a new device { $minutes ->
    [one] one minute
   *[other] { $minutes } minutes
} after the account was recovered.
alert-evidence-after-email-change = A sign-in from a new device { $minutes ->
    [one] one minute
   *[other] { $minutes } minutes
} after its email address was changed.
console-user-passkey-only = Passkeys only
console-user-passkey-only-intro = A passkey-only account cannot have a password: the one it has is removed once it has a passkey, and recovery offers a new passkey only.
console-user-passkey-only-policy = Every account like this one signs in with passkeys only (LATCHKEY_PASSKEY_ONLY).
console-user-passkey-only-on = Make passkey-only
console-user-passkey-only-off = Allow a password again
console-notice-passkey-only-set = Passkeys only changed.
console-overview-passkey-only = Passkey-only users
audit-detail-passkey-only-on = passkeys only
audit-detail-passkey-only-off = a password allowed again
console-passkeys = Passkeys
console-passkeys-lead = Which passkeys people may register. Passkeys registered before a stricter policy keep working; remove them on the user's page.
console-passkeys-for-everyone = Everyone
console-passkeys-for-admins = Administrators
console-passkeys-in-force = In force:
console-passkeys-chosen-here = chosen here
console-passkeys-from-configuration = from the server's configuration
console-passkeys-allowed = Allowed passkeys
console-passkeys-allowed-any = Any passkey
console-passkeys-allowed-listed = Only the models listed below
console-passkeys-allowed-security-keys = Hardware security keys only
console-passkeys-any = Any passkey
console-passkeys-listed-n = Only { $count ->
    [one] one listed model
   *[other] { $count } listed models
}
console-passkeys-security-keys = Hardware security keys only (attested)
console-passkeys-attested = attested
console-passkeys-aaguids = Allowed models (AAGUIDs)
console-passkeys-aaguids-hint = One AAGUID a line, for "Only the models listed below". Without attestation, a model is what the authenticator says it is.
console-passkeys-require-attestation = Require attestation: the authenticator proves its model, checked against the FIDO metadata (device-bound passkeys only)
console-passkeys-save = Save policy
console-passkeys-reset = Use the configuration's
console-passkeys-bad-aaguids = The AAGUIDs could not be read: { $reason }
console-passkeys-metadata = FIDO metadata
console-passkeys-metadata-serial = Serial number
console-passkeys-metadata-next = Next update due
console-passkeys-metadata-stale = (past: download a new BLOB)
console-passkeys-metadata-models = Authenticator models
console-passkeys-metadata-keys = Of them, security keys
console-passkeys-metadata-unreadable = The metadata BLOB (LATCHKEY_FIDO_MDS) does not read or verify; see the server's log.
console-passkeys-no-metadata = No FIDO metadata BLOB is configured (LATCHKEY_FIDO_MDS), so attestation cannot be required and security keys cannot be told apart.
console-notice-passkey-policy-set = Passkey policy changed.
console-webhooks = Webhooks
console-webhooks-lead = Other systems told of security events, signed as the Standard Webhooks specification says. Add and remove them with latchkey webhook.
console-webhooks-none = No webhooks yet: latchkey webhook add --url https://… --event sign_in
console-webhooks-events = Events
console-webhooks-every-event = every event
console-webhooks-pending = Waiting to be delivered
console-webhooks-id = Id
console-webhooks-on = On
console-webhooks-off = Off: a day of failed deliveries (latchkey webhook enable turns it on again)
console-webhooks-failing = Failing since { $since }
console-webhooks-no-attempts = Nothing sent yet.
console-webhooks-attempts = The last 50 attempts, newest first
console-webhooks-when = When
console-webhooks-event = Event
console-webhooks-result = Result
console-webhooks-took = Took
console-webhooks-enable = Turn on again
console-webhooks-remove = Remove
console-notice-webhook-enabled = Webhook on again.
console-notice-webhook-removed = Webhook removed.
