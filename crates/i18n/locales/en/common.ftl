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
