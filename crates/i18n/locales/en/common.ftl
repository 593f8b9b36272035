# Words shared by pages and mail, and dates in words.

brand = latchkey
continue = Continue
verify = Verify
back-to-account = Back to your account
your-account = Your account
back-to-sign-in = Back to sign in
auth-code-label = Authentication code
username-label = Username
email-label = Email
new-password-label = New password
too-many-attempts = Too many attempts. Wait a few minutes and try again.
unknown-device = an unknown device

# { $weekday }, { $month }: the names below; { $time }: 24-hour HH:MM;
# { $zone }: "UTC" or an IANA name such as Europe/Berlin.
datetime = { $weekday }, { $day } { $month } { $year } at { $time } ({ $zone })

month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December

weekday-1 = Monday
weekday-2 = Tuesday
weekday-3 = Wednesday
weekday-4 = Thursday
weekday-5 = Friday
weekday-6 = Saturday
weekday-7 = Sunday

# How long ago, on the account page ({ $n } is a count).
ago-just-now = just now
ago-yesterday = yesterday
ago-minutes = { $n ->
    [one] { $n } minute ago
   *[other] { $n } minutes ago
}
ago-hours = { $n ->
    [one] { $n } hour ago
   *[other] { $n } hours ago
}
ago-days = { $n ->
    [one] { $n } day ago
   *[other] { $n } days ago
}
ago-months = { $n ->
    [one] { $n } month ago
   *[other] { $n } months ago
}
ago-years = { $n ->
    [one] { $n } year ago
   *[other] { $n } years ago
}

# How a session signed in ("password and passkey").
method-password = password
method-otp = authenticator app or backup code
method-passkey = passkey
method-federated = another provider
method-remembered = a remembered device
method-mailed-code = a code sent by email
# The last two items of a list: "password, passkey and authenticator app".
list-and = { $rest } and { $last }

# What an app may do (scopes), on the consent and account pages.
scope-openid = Know who you are
scope-profile = See your name and profile
scope-email = See your email address
scope-offline-access = Stay connected when you're not using it
scope-groups = See the groups you belong to
scope-admin = Manage this sign-in service: its users, apps and keys
scope-admin-short = Administer latchkey
scope-scim = Create, change and remove this sign-in service's users and groups (SCIM provisioning)

# Kinds of passkey.
passkey-kind-synced = Synced passkey
passkey-kind-device-bound = Saved on one device
passkey-kind-security-key = Security key
passkey-kind-unknown = Passkey

# Status lines of static/passkeys.js (the browser's own reason follows after a colon).
passkey-js-add-failed = Could not add the passkey
passkey-js-create-failed = Could not create the passkey
passkey-js-sign-in-failed = Passkey sign-in failed
passkey-js-failed = Passkey failed
passkey-js-disabled = This account is disabled. Contact your administrator.
passkey-js-unknown = This passkey is no longer registered here: it was removed, or its account was deleted. Sign in another way.
