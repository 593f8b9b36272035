# Audit events in plain words (the console's audit log, a user's page).

## One message per event kind: event-<kind with dashes> (console/audit.rs).
## The same words as the account page's "Recent activity".
event-account-deleted = Account deleted
event-account-recovered = Account recovered
event-account-set-up = Account set up
event-admin-granted = Made an admin
event-admin-revoked = Admin rights removed
event-alert-acknowledged = Security alert acknowledged
event-anomaly-credential-stuffing = Security alert: one address failing on many accounts
event-anomaly-failure-spike = Security alert: many failed sign-ins on one account
event-anomaly-new-country = Security alert: sign-in from a new country
event-anomaly-new-device-after-change = Security alert: new device right after an account change
event-anomaly-refresh-token-reuse = Security alert: refresh token used twice
event-api-changed = API changed
event-api-registered = API registered
event-api-removed = API removed
event-app-disconnected = App disconnected
event-audit-exported = Audit log exported
event-backchannel-logout-delivered = Sign-out passed on to an app
event-backchannel-logout-failed = Sign-out could not be passed on to an app
event-backup-codes-regenerated = Backup codes renewed
event-client-created = Client created
event-client-deleted = Client deleted
event-client-disabled = Client disabled
event-client-enabled = Client enabled
event-client-scopes-changed = Client's permissions changed
event-client-secret-rotated = Client secret renewed
event-client-updated = Client changed
event-code-reuse = Authorization code used twice
event-consent-denied = Access refused to an app
event-consent-given = Access allowed to an app
event-device-approved = A device was connected (device code)
event-device-denied = A device was refused (device code)
event-device-forgotten = Remembered device forgotten
event-device-token-replayed = Remembered device ended: its cookie was copied
event-email-change-refused = Email change refused
event-email-change-requested = Email change requested
event-email-change-reverted = Email change undone
event-email-changed = Email address changed
event-federated-sign-in-failed = Sign-in through another provider failed
event-federated-sign-up = Signed up through another provider
event-grants-revoked = App access revoked
event-group-created = Group created
event-group-member-added = Added to a group
event-group-member-removed = Removed from a group
event-group-removed = Group removed
event-identity-linked = Sign-in through another provider linked
event-identity-unlinked = Sign-in through another provider unlinked
event-keys-rotated = Signing keys renewed
event-login-failed = A sign-in attempt failed
event-login-throttled = Sign-in blocked after too many attempts
event-mfa-reset-by-admin = Second factor reset by an administrator
event-new-country-sign-in = Sign-in from a new country
event-new-device-sign-in = Sign-in from a new device
event-not-me = Activity reported as not theirs
event-passkey-added = Passkey added
event-passkey-removed = Passkey removed
event-passkey-second-factor = Second step with a passkey
event-passkey-sign-in = Signed in with a passkey
event-passkey-sign-in-failed = A passkey sign-in failed
event-password-changed = Password changed
event-password-removed = Password removed
event-password-set = Password set
event-profile-changed = Profile changed
event-provider-added = Sign-in provider added
event-provider-disabled = Sign-in provider disabled
event-provider-enabled = Sign-in provider enabled
event-provider-removed = Sign-in provider removed
event-provider-updated = Sign-in provider changed
event-rate-limited = Too many requests: slowed down
event-recent-credential-removed = A newly added sign-in method removed
event-recovery-factor-failed = Recovery: second factor failed
event-recovery-factor-passed = Recovery: second factor confirmed
event-recovery-link-sent-by-admin = Recovery link sent by an administrator
event-recovery-requested = Recovery link sent
event-recovery-requested-unknown = Recovery asked for an unknown account
event-refresh-token-reuse = Refresh token used twice: access revoked
event-passkey-only-set = Passkeys only changed
event-passkey-policy-set = Passkey policy changed
event-risk-policy-set = Risk policy set
event-risky-sign-in-refused = Risky sign-in stopped
event-scim-client-created = SCIM client created
event-scim-client-revoked = SCIM client revoked
event-scim-user-created = User created by SCIM
event-scim-user-updated = User changed by SCIM
event-second-factor-failed = Second step failed
event-session-moved = Session ended: used from another device
event-session-restored = Signed in by a remembered device
event-sessions-ended = Sessions ended
event-sign-in = Signed in
event-sign-in-code-failed = A wrong sign-in code
event-sign-in-stepped-up = Extra check asked for at sign-in
event-sign-out = Signed out
event-signup-address-taken = Sign-up with an address already registered
event-signup-requested = Sign-up started
event-token-exchanged = Token exchanged for an API
event-totp-enrolled = Authenticator app set up
event-totp-removed = Authenticator app removed
event-user-deleted = User deleted
event-user-disabled = User disabled
event-user-enabled = User enabled
event-user-invited = User invited
event-webhook-added = Webhook added
event-webhook-disabled = Webhook turned off after a day of failures
event-webhook-removed = Webhook removed

## Outcomes, as badges.
audit-outcome-success = Succeeded
audit-outcome-failure = Failed

## Who did it, when not a user or client with a name.
audit-actor-none = System or anonymous
audit-actor-cli = Command line
audit-actor-scim = SCIM client { $id }
audit-as-admin = as admin
audit-removed = (removed)

## Details in words, where the stored detail is codes.
audit-detail-remembered = remembered device
audit-detail-new-device = new device
audit-detail-first-method = first sign-in method: { $methods }
audit-detail-no-change = nothing changed
audit-detail-risk = { $level }: { $signals }
audit-detail-risk-policy = risk policy: { $policy }
audit-detail-risk-policy-default = risk policy: the default
risk-level-low = low risk
risk-level-medium = medium risk
risk-level-high = high risk
risk-signal-unknown-device = unknown device
risk-signal-new-browser = browser not used in 30 days
risk-signal-new-network = network not used in 30 days
risk-signal-failures = { $count ->
    [one] 1 failed sign-in
   *[other] { $count } failed sign-ins
} in the last hour
risk-signal-new-country = country not used in 90 days ({ $country })
risk-signal-travel = impossible travel: { $km } km in { $minutes } min
risk-signal-blocklisted = blocklisted address
audit-detail-disowned = “{ $event }” reported as not theirs; { $sessions ->
    [one] 1 session ended
   *[other] { $sessions } sessions ended
}

## The audit log page (/admin/audit).
audit-filters = Filter events
audit-user = User
audit-user-hint = A username or a user id.
audit-client = Client
audit-any-client = Any client
audit-event = Event
audit-any-event = Any event
audit-outcome = Outcome
audit-any-outcome = Any outcome
audit-from = From (UTC)
audit-to = To (UTC, that whole day)
audit-show = Show events
audit-clear = Clear filters
audit-quick = Recent:
audit-last-hour = Last hour
audit-last-day = Last day
audit-last-week = Last week
audit-since = From { $time }
audit-until = Before { $time }
audit-any-time = Any time
audit-count = { $count ->
    [one] { $shown } event
   *[other] { $shown } events
}
audit-none = No events match these filters.
audit-unknown-user = No user is called “{ $user }” and none has that id.
audit-removed-user = No user is called “{ $user }” now: these are the events of a removed user.
audit-removed-client = { $client } (removed)
audit-bad-date = “{ $value }” is not a date (year-month-day), so it was left out.
audit-export = Export these events:
audit-export-csv = CSV (spreadsheet)
audit-export-jsonl = JSON lines
audit-pages = Pages of events
audit-older = Older events
audit-newest = Newest events

## Columns of the table of events (the audit log, a user's page).
audit-col-time = Time
audit-col-event = Event
audit-col-outcome = Outcome
audit-col-by = By
audit-col-user = User
audit-col-client = Client
audit-col-address = Address
audit-col-details = Details
