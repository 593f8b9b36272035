# Pages (templates/*.html). Keys start with the page's name.

## device.html
device-title = Connect a device
device-intro = Enter the code that your device (a TV, a console, a command-line tool) shows.
device-code-label = Code
device-code-wrong = That code is not right, or it has expired. Check the code on your device and try again.
device-too-many-title = Too many attempts
device-too-many = Too many wrong codes were entered from your network. Wait { $minutes } minutes, then enter the code again.
device-used-title = Code already used
device-used = This code was already allowed or denied. If that was not you, start again on your device to get a new code.
device-allowed-title = Device connected
device-allowed = You can close this page and return to your device.
device-denied-title = Device not connected
device-denied = The device was denied access. You can close this page and return to your device.

## recover.html
recover-title = Can't sign in?
recover-intro = We will send a recovery link to the address of your account. It works once, for { $minutes } minutes.
recover-login-label = Username or email
recover-send = Send recovery link
recover-sent-title = Check your email
recover-sent = If an account matches, we sent a recovery link to its address. It works once, for { $minutes } minutes. Nothing arrived? Check your spam folder, or ask again in a few minutes.

## setup.html
setup-title = Set up your account
setup-recover-title = Recover your account
setup-account = Account { $username }
setup-factor-first = First, prove it is you with your authenticator app or one of your backup codes.
setup-factor-passkey-first = First, prove it is you with your passkey: the one you sign in with after your password.
setup-factor-passkey = Use your passkey
setup-factor-or-code = Or enter a code from your authenticator app or one of your backup codes.
setup-passkey-intro = Sign in from now on with a passkey: your device unlocks it with your face, fingerprint or screen lock.
setup-create-passkey = Create a passkey
setup-use-password = Use a password instead
setup-password-hint = At least { $min } characters. A few unrelated words make a good one.
setup-set-password = Set password

## signup.html
signup-title = Create account
signup-submit = Create account
signup-hint = We will send a link to confirm your address; with it you create a passkey or a password.
signup-sent-title = Check your email
signup-sent = We sent a link to the address you gave. Open it within 24 hours to finish creating your account.

## home.html
home-title = Welcome
home-heading = Welcome to { $brand }
home-intro = Sign in once for the apps that use this service, and manage your passkeys, password and sessions in your account.
home-sign-in = Sign in
home-your-account = Your account
home-account-hint = After signing in you see your account: how you sign in, where you are signed in, and which apps you allowed.

## signed_out.html
signed-out-title = Signed out
signed-out-heading = You are signed out
signed-out-again = Sign in again

## confirm_logout.html
logout-title = Sign out?
logout-client-asks = { $client } asks to sign you out of latchkey.
logout-you-asked = You asked to sign you out of latchkey.
logout-submit = Sign out
logout-stay = Stay signed in

## email.html and its links (confirm_link.html, notice.html)
email-title = Change email
email-now = Now: { $email }
email-new-label = New email
email-submit = Change email
email-hint = We send a link to the new address; the change happens when it is used. Your current address is told, and can undo it for 7 days.
email-invalid = That is not an email address we can use.
email-same = That is already your address.
email-taken = Another account uses that address. Choose another one.
email-check-inbox-title = Check your new inbox
email-check-inbox = We sent a link to the new address. Your address changes when it is used.
email-confirm-title = Confirm your new address
email-confirm-message = Make { $email } the address of your account?
email-confirm-button = Confirm new address
email-changed-title = Email address changed
email-changed = Your address is now { $email }.
email-revert-title = Restore your email address
email-revert-message = Make { $email } the address of your account again, and sign out every session of the account?
email-revert-button = Restore my address and sign out everywhere
email-restored-title = Address restored
email-restored = { $email } is your address again, and every session of the account was signed out. If someone else changed it, recover your account now.

## form_post.html
form-post-title = Returning to the application
form-post-noscript = Your browser does not run scripts: continue by hand.

## totp.html
totp-title = Authenticator app
totp-backup-intro = Your authenticator app is set up. Keep these { $codes } somewhere safe: each works once, instead of a code from the app. They are shown only now.
totp-backup-codes = backup codes
totp-enrolled = Your authenticator app is set up. { $count ->
    [one] { $count } backup code left.
   *[other] { $count } backup codes left.
}
totp-new-codes = New backup codes
totp-remove = Remove authenticator app
totp-scan = Scan this code with your authenticator app, or type the key by hand.
totp-code-wrong = That code is not right. Check the time on your phone and try the next code.
totp-key = Key:

## recovery_codes.html
codes-title = Save your backup codes
codes-keep = Keep these codes somewhere safe, apart from your devices. Each works once: to recover your account if you lose your passkey or authenticator app. They are shown only now.
codes-continue = Continue to your account
codes-intro = If you lose your device, backup codes are your second way in. Create them now and keep them somewhere safe.
codes-create = Create backup codes
codes-not-now = Not now

## password.html
password-title = Change password
password-hint = Changing your password signs you out everywhere else and ends the apps' sessions.
password-current-label = Current password
password-submit = Change password
password-wrong = The current password is not right.
password-unusable = The new password cannot be used: { $reason }.
password-set-title = Set a password
password-set-hint = You sign in with a passkey. A password is a second way in, for devices without your passkey. Setting one signs you out everywhere else.
password-set-submit = Set password

## profile.html
profile-title = Your profile
profile-hint = What apps you allow to see your profile receive.
profile-name-label = Name
profile-given-name-label = Given name
profile-family-name-label = Family name
profile-language-label = Language
profile-zoneinfo-label = Time zone
profile-save = Save profile

## delete_account.html
delete-title = Delete account
delete-warning = This signs you out everywhere, disconnects every app, and deletes your passkeys, authenticator app, backup codes and personal data. It cannot be undone.
delete-confirm-label = Type your username, { $username }, to confirm
delete-submit = Delete account
delete-mismatch = Type your username exactly to confirm.

## not_me.html
not-me-title = This wasn't me
not-me-done-heading = That session has ended
not-me-done = The sign-in you did not recognise is signed out, and the apps it used lost access.
not-me-change-now = Change your password now
not-me-change-link = sign in and change it
not-me-nothing-heading = Nothing left to end
not-me-nothing = The session behind it has already ended, and no other session is signed in.
not-me-check-before = Then check your
not-me-check-link = sign-in methods
not-me-check-after = for anything you did not add.
not-me-heading = End that sign-in?
not-me-device = Signed in from { $device }. If this wasn't you, end that session now.
not-me-end = End that session
not-me-review-intro = Sign-in methods added to your account in the last 7 days. Remove any you did not add: every session then ends.
not-me-review-link = Review the sign-in methods added in the last 7 days
review-title = Added recently
review-intro = Sign-in methods added to your account in the last { $days } days, before this sign-in. Remove any you did not add.
review-nothing = Nothing was added recently.
review-passkey = Passkey “{ $name }”
review-app = Authenticator app

## mfa.html
mfa-title = Second step
mfa-use-passkey = Use a passkey
mfa-or-app = Or open your authenticator app, or use one of your backup codes.
mfa-app = Open your authenticator app and enter its code, or use one of your backup codes.
mfa-code-wrong = That code is not right. Try the next one from your app, or a backup code.

## "Confirm it's you" (handlers/risk.rs): a risky sign-in's step-up. Never
## name what made it risky.
confirm-title = Confirm it's you
confirm-intro = We sent a code to your email address. Enter it here to finish signing in.
confirm-code-label = Code
confirm-code-wrong = That code is not right. Check the latest email from us and try again.
confirm-too-many = Too many wrong codes. Sign in again to get a new one.
confirm-sign-in-again = Sign in again
confirm-refused = We could not confirm it's you with a password alone, so this sign-in was stopped. We have let the account's owner know by email.
confirm-refused-todo = If this was you, use "Can't sign in?" to get a link by email. Once signed in, add a passkey or an authenticator app on your account page: then a sign-in like this one asks for it instead of being stopped.

## login.html
login-title = Sign in
login-continue-to = to continue to { $client }
login-passkey = Sign in with a passkey
login-passkey-phone = Use a passkey on your phone
login-continue-with = Continue with { $provider }
login-link-notice = Sign in to your account here to link your { $provider } account to it. Next time, { $provider } signs you in.
login-or-password = or with your password
login-password-label = Password
login-remember = Keep me signed in
login-submit = Sign in
login-wrong = Invalid username or password.

## consent.html
consent-title = Allow access?
consent-logo-alt = { $client } logo
consent-heading = Allow { $client }?
consent-self-registered = This app registered itself: { $brand } has not checked who is behind it.
consent-metadata-document = It describes itself in a document on { $host }.
consent-signed-in-as = Signed in as { $username }
consent-not-you = Not you?
consent-asks = { $client } asks to:
consent-may-act = { $actor } may act on your behalf at { $apis }.
consent-destination = Either way, you then go back to { $host }.
consent-policy = Privacy policy of { $client }
consent-terms = Terms of service of { $client }
consent-deny = Deny
consent-allow = Allow
consent-device-note = Code { $code }. Allow only a device in front of you that shows this code: whoever holds that device gets this access.

## error.html (and the errors it shows)
error-reference = Reference:
error-cookies-title = Cookies are not reaching latchkey
error-cookies = Your browser did not send latchkey's cookie, so this cannot continue. Allow cookies for this site and try again. If this page was reached over plain http:// (other than localhost), the browser drops latchkey's secure cookies: use https.
error-expired-title = Sign-in request expired
error-expired = This sign-in request has expired or was already completed. Go back to the application and start again.
error-too-many-title = Too many requests
error-too-many = Too many requests. Try again in { $minutes } minute(s).
error-unavailable-title = Temporarily unavailable
error-unavailable = latchkey cannot reach its database right now. Try again in a moment.
error-internal-title = Something went wrong
error-internal = An internal error occurred. Nothing was changed.

## account.html
account-signed-in = signed in
account-with = with { $methods }
account-prompt-strong = Upgrade your sign-in with a passkey.
account-prompt = Sign in with your fingerprint, face or screen lock instead of a password: faster, and phishing-resistant.
account-not-now = Not now
account-methods = Sign-in methods
account-passkeys = Passkeys
account-no-passkey = No passkey yet. A passkey signs you in with your fingerprint, face or screen lock.
account-passkey-name = Passkey name
account-rename = Rename
account-added = added
account-last-used = last used
account-never-used = never used yet
account-remove = Remove
account-new-passkey-name = Name for a new passkey
account-add-passkey = Add a passkey
account-add-security-key = Use a security key
account-totp-on = On: sign-ins with your password also ask for a code from the app.
account-totp-off = Off
account-totp-set-up = Set up authenticator app
account-backup-codes = Backup codes
account-codes-left = { $count ->
    [one] { $count } code left
   *[other] { $count } codes left
}: each works once, if you lose your phone or passkeys.
account-password = Password
account-password-set = Set
account-password-none = None: you sign in with a passkey.
account-password-remove-hint = To remove it, first add a second passkey, an authenticator app or backup codes.
account-remove-password = Remove password
account-where = Where you're signed in
account-this-device = This device
account-last-active = last active
account-end-session = End session
account-devices = Remembered devices
account-no-devices = No device keeps you signed in.
account-this-browser = This browser
account-remembered = remembered
account-until = until { $date }
account-forget = Forget
account-end-others = Sign out everywhere else
account-end-all = Sign out everywhere
account-apps = Connected apps
account-linked = Linked sign-ins
account-unlink = Unlink
account-link-provider = Link your { $provider } account
account-never = never
account-no-apps = No app has access to your account.
account-revoke = Revoke access
account-activity = Recent activity
account-nothing-yet = Nothing yet.
account-here = this browser
account-profile = Profile
account-not-given = not given
account-edit-profile = Edit profile
account-unknown-device = Unknown device
account-unknown-address = unknown address

## Recent activity on account.html (activity.rs)
activity-sign-in = Signed in with { $methods }
activity-session-restored = Signed in by a remembered device
activity-failed = A sign-in attempt failed
activity-password-changed = Password changed
activity-password-set = Password set
activity-password-removed = Password removed
activity-totp-enrolled = Authenticator app set up
activity-totp-removed = Authenticator app removed
activity-passkey-added = Passkey added
activity-passkey-removed = Passkey removed
activity-email-changed = Email address changed
activity-account-recovered = Account recovered
activity-new-device = Sign-in from a new device
activity-mfa-reset = Second factor reset by an administrator
activity-codes-regenerated = New backup codes
activity-device-approved = A device was connected (device code)
activity-not-me = You reported activity you did not recognise
activity-sign-in-new-device-in = New device in { $place }: signed in with { $methods }
activity-sign-in-in = Signed in with { $methods } in { $place }
activity-risky-refused = A sign-in with your password was stopped
activity-code-sent = A code to confirm a sign-in was sent to your email
password-passkey-only = This account signs in with passkeys only: it cannot have a password.
account-passkey-only = Passkeys only
account-passkey-only-note = This account signs in with passkeys only. Its password is removed once it has a passkey.
account-upgraded = Your password manager saved a passkey for this account: next time, sign in with it.

## Authenticator policy (issue #29): why a passkey was refused
passkey-refused-not-listed = Your organisation does not allow this kind of passkey. Ask your administrator which security keys or passkey providers you can use.
passkey-refused-not-listed-admins = Your organisation only allows certain passkeys for administrators. Ask another administrator which ones.
passkey-refused-security-keys = Your organisation only allows security keys. Insert or tap a security key (such as a YubiKey) instead.
passkey-refused-security-keys-admins = Your organisation only allows security keys for administrators. Insert or tap a security key (such as a YubiKey) instead.
passkey-refused-not-attested = This passkey could not prove which device made it, and your organisation requires that. Try a security key, or another device.
