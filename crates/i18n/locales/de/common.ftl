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

# How long ago, on the account page ({ $n } is a count).
ago-just-now = gerade eben
ago-yesterday = gestern
ago-minutes = { $n ->
    [one] vor { $n } Minute
   *[other] vor { $n } Minuten
}
ago-hours = { $n ->
    [one] vor { $n } Stunde
   *[other] vor { $n } Stunden
}
ago-days = { $n ->
    [one] vor { $n } Tag
   *[other] vor { $n } Tagen
}
ago-months = { $n ->
    [one] vor { $n } Monat
   *[other] vor { $n } Monaten
}
ago-years = { $n ->
    [one] vor { $n } Jahr
   *[other] vor { $n } Jahren
}

# How a session signed in ("password and passkey").
method-password = Passwort
method-otp = Authenticator-App oder Backup-Code
method-passkey = Passkey
method-federated = anderer Anbieter
method-remembered = ein gespeichertes Gerät
method-mailed-code = ein per E-Mail gesendeter Code
# The last two items of a list: "password, passkey and authenticator app".
list-and = { $rest } und { $last }

# What an app may do (scopes), on the consent and account pages.
scope-openid = Wissen, wer Sie sind
scope-profile = Ihren Namen und Ihr Profil sehen
scope-email = Ihre E-Mail-Adresse sehen
scope-offline-access = Verbunden bleiben, wenn Sie die Anwendung nicht nutzen
scope-groups = Die Gruppen sehen, zu denen Sie gehören
scope-admin = Diesen Anmeldedienst verwalten: seine Benutzer, Anwendungen und Schlüssel
scope-admin-short = latchkey verwalten
scope-scim = Benutzer und Gruppen dieses Anmeldedienstes anlegen, ändern und entfernen (SCIM-Provisionierung)

# Kinds of passkey.
passkey-kind-synced = Synchronisierter Passkey
passkey-kind-device-bound = Auf einem Gerät gespeichert
passkey-kind-security-key = Sicherheitsschlüssel
passkey-kind-unknown = Passkey

# Statuszeilen von static/passkeys.js (der Grund des Browsers folgt nach einem Doppelpunkt).
passkey-js-add-failed = Der Passkey konnte nicht hinzugefügt werden
passkey-js-create-failed = Der Passkey konnte nicht erstellt werden
passkey-js-sign-in-failed = Anmeldung mit Passkey fehlgeschlagen
passkey-js-failed = Passkey fehlgeschlagen
passkey-js-disabled = Dieses Konto ist deaktiviert. Wenden Sie sich an Ihre Administratorin oder Ihren Administrator.
passkey-js-unknown = Dieser Passkey ist hier nicht mehr registriert: Er wurde entfernt oder sein Konto gelöscht. Melden Sie sich anders an.
