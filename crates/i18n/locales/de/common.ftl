# Wörter, die Seiten und Mails teilen, und Datumsangaben in Worten.

brand = latchkey
continue = Weiter
verify = Bestätigen
back-to-account = Zurück zu Ihrem Konto
your-account = Ihr Konto
back-to-sign-in = Zurück zur Anmeldung
auth-code-label = Bestätigungscode
username-label = Benutzername
email-label = E-Mail-Adresse
new-password-label = Neues Passwort
too-many-attempts = Zu viele Versuche. Warten Sie ein paar Minuten und versuchen Sie es dann erneut.
unknown-device = einem unbekannten Gerät

datetime = { $weekday }, { $day }. { $month } { $year } um { $time } Uhr ({ $zone })

month-1 = Januar
month-2 = Februar
month-3 = März
month-4 = April
month-5 = Mai
month-6 = Juni
month-7 = Juli
month-8 = August
month-9 = September
month-10 = Oktober
month-11 = November
month-12 = Dezember

weekday-1 = Montag
weekday-2 = Dienstag
weekday-3 = Mittwoch
weekday-4 = Donnerstag
weekday-5 = Freitag
weekday-6 = Samstag
weekday-7 = Sonntag
