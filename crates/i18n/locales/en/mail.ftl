# Notification mail (crates/authn/src/notice.rs). Each mail: a subject, a
# greeting, paragraphs and at most one action (a button in HTML, the link
# on its own line in text).

mail-hello = Hello { $username },
mail-hello-anonymous = Hello,
mail-footer = This is an automatic message from { $brand }.
mail-link-hint = If the button does not work, open this link:

mail-invitation-subject = You are invited to latchkey
mail-invitation-intro = An account was created for you. Open this link within { $hours } hours to choose how you sign in (a passkey, or a password):
mail-invitation-action = Set up your account
mail-invitation-after = The link works once. If you did not expect this, ignore this message.

mail-signup-address-taken-subject = Someone tried to create an account with your address
mail-signup-address-taken-intro = Someone tried to create a latchkey account with this address. You already have one. If it was you, sign in, or use "Can't sign in?" on the sign-in page:
mail-signup-address-taken-action = Can't sign in?
mail-signup-address-taken-after = If it was not you, there is nothing to do.

mail-signup-username-taken-subject = That username is taken
mail-signup-username-taken-intro = Someone (perhaps you) tried to create a latchkey account for this address with the username "{ $username }", which is taken. Choose another one:
mail-signup-username-taken-action = Choose another username

mail-signup-confirm-subject = Confirm your email address
mail-signup-confirm-intro = Open this link within { $hours } hours to confirm your address and choose how you sign in:
mail-signup-confirm-action = Confirm your address
mail-signup-confirm-after = The link works once. If you did not ask for an account, ignore this message.

mail-recovery-subject = Someone asked to recover your account
mail-recovery-intro = Someone asked to recover your latchkey account. If it was you, open this link within { $minutes } minutes:
mail-recovery-action = Recover your account
mail-recovery-after = The link works once; asking again replaces it. If it was not you, ignore this message: nothing changes unless the link is used, and before it lets anyone set a new password or passkey it asks for your second factor (your passkey, authenticator app or a backup code) if you have one.

mail-admin-recovery-subject = Recover your account
mail-admin-recovery-intro = An administrator sent you this recovery link. Open it within { $minutes } minutes:
mail-admin-recovery-action = Recover your account
mail-admin-recovery-after = It works once, and asks for your second factor if you have one.

mail-recovered-subject = Your account was recovered
mail-recovered-intro = Your latchkey account was just recovered with a new sign-in method, and every other session was signed out.
mail-recovered-if-not = If this wasn't you, end that session now and contact your administrator:
mail-recovered-action = This wasn't me

mail-password-changed-subject = Your password was changed
mail-password-changed-intro = The password of your latchkey account was just changed, and every other session was signed out.
mail-password-changed-if-not = If this wasn't you, contact your administrator now.

mail-password-set-subject = A password was added to your account
mail-password-set-intro = A password was just added to your latchkey account, and every other session was signed out.

mail-password-removed-subject = Your password was removed
mail-password-removed-intro = The password of your latchkey account was just removed: you sign in with your passkeys now. Every other session was signed out.

mail-account-deleted-subject = Your account was deleted
mail-account-deleted-intro = Your latchkey account was deleted, with its sessions, passkeys and connected apps.

mail-email-confirm-subject = Confirm your new email address
mail-email-confirm-intro = Open this link within { $hours } hours to make this the address of your latchkey account:
mail-email-confirm-action = Confirm new address
mail-email-confirm-after = If you did not ask for this, ignore this message.

mail-email-changed-subject = Your email address was changed
mail-email-changed-intro = The address of your latchkey account was changed from this one to { $email }.
mail-email-changed-if-not = If this wasn't you, open this link within { $days } days: it restores this address and signs out every session of the account.
mail-email-changed-action = Restore this address

mail-email-restored-subject = Your email address was restored
mail-email-restored-intro = This address is again the address of your latchkey account, and every session was signed out. Use "Can't sign in?" to choose a new password or passkey:
mail-email-restored-action = Can't sign in?

mail-mfa-reset-subject = Your second factor was reset
mail-mfa-reset-intro = An administrator removed the authenticator app and backup codes of your latchkey account, and signed out every session. Use "Can't sign in?" to set up your sign-in again:
mail-mfa-reset-action = Can't sign in?
mail-mfa-reset-after = If you did not ask for this, contact your administrator now.

mail-new-device-subject = New sign-in to your account
mail-new-device-intro = Someone signed in to your latchkey account from a device we have not seen recently:
mail-new-device-device = Device
mail-new-device-time = Time
mail-new-device-ip = IP address
mail-new-device-passkey = Passkey
mail-new-device-unknown = unknown
mail-new-device-unknown-device = Unknown device
mail-new-device-if-you = If this was you, there is nothing to do.
mail-new-device-if-not = If this wasn't you, end that session now and then change your password:
mail-new-device-action = This wasn't me

## Risky sign-ins (issue #32): a code to confirm one, or word that one was stopped.
mail-sign-in-code-subject = Your sign-in code
mail-sign-in-code-intro = Someone is signing in to your latchkey account with your password. To finish, they must type this code into the browser that asked for it:
mail-sign-in-code-code = Code
mail-sign-in-place = Place
mail-sign-in-code-once = The code works once, for { $minutes } minutes, and only in that browser. Never tell it to anyone: we will never ask you for it.
mail-sign-in-code-if-not = If this wasn't you, someone knows your password. Do not use the code: stop that sign-in now and then change your password:
mail-sign-in-blocked-subject = A sign-in to your account was stopped
mail-sign-in-blocked-intro = Someone signed in to your latchkey account with your password, but the sign-in did not look like yours, so we stopped it:
mail-sign-in-blocked-if-you = If this was you, sign in from a device you have used before, or use "Can't sign in?" on the sign-in page. A passkey or an authenticator app on your account page makes this safer next time.
mail-sign-in-blocked-if-not = If this wasn't you, someone knows your password. Change it now:
mail-sign-in-blocked-action = Change your password

mail-credential-added-subject = A sign-in method was added to your account
mail-credential-added-passkey = A passkey named “{ $name }” was just added to your latchkey account, and every other session was signed out.
mail-credential-added-passkey-from = A passkey named “{ $name }”, saved in { $provider }, was just added to your latchkey account, and every other session was signed out.
mail-credential-added-app = An authenticator app was just set up on your latchkey account, and every other session was signed out.
mail-credential-added-codes = New backup codes were just created for your latchkey account (any older ones no longer work), and every other session was signed out.
mail-credential-added-if-not = If this wasn't you, end that session now and remove what was added:
mail-credential-added-action = This wasn't me
mail-provider-linked-subject = An account at another provider was linked to yours
mail-provider-linked-intro = Your account at { $provider } was just linked to your latchkey account: it now signs you in here.
mail-provider-unlinked-subject = An account at another provider was unlinked
mail-provider-unlinked-intro = Your account at { $provider } no longer signs you in to your latchkey account, and every other session was signed out.
mail-provider-unlinked-if-not = If this wasn't you, reset your password or sign in with a passkey and review your account.
mail-webhook-disabled-subject = A webhook was turned off
mail-webhook-disabled-intro = Every delivery to this webhook failed for a day, so latchkey stopped sending to it. Events are still kept for it and are sent, in order, once it is turned on again.
mail-webhook-disabled-url = Address
mail-webhook-disabled-error = Last error
mail-webhook-disabled-what = Fix the receiver, then turn the webhook on again in the console (Webhooks) or with latchkey webhook enable.
mail-webhook-disabled-action = Open the webhooks
