# Seiten (templates/*.html).

## device.html
device-title = Gerät verbinden
device-intro = Geben Sie den Code ein, den Ihr Gerät (ein Fernseher, eine Konsole, ein Kommandozeilenprogramm) anzeigt.
device-code-label = Code
device-code-wrong = Dieser Code stimmt nicht oder ist abgelaufen. Prüfen Sie den Code auf Ihrem Gerät und versuchen Sie es erneut.
device-too-many-title = Zu viele Versuche
device-too-many = Aus Ihrem Netzwerk wurden zu viele falsche Codes eingegeben. Warten Sie { $minutes } Minuten und geben Sie den Code dann erneut ein.
device-used-title = Code bereits verwendet
device-used = Dieser Code wurde bereits erlaubt oder abgelehnt. Falls Sie das nicht waren, beginnen Sie auf Ihrem Gerät neu, um einen neuen Code zu erhalten.
device-allowed-title = Gerät verbunden
device-allowed = Sie können diese Seite schließen und zu Ihrem Gerät zurückkehren.
device-denied-title = Gerät nicht verbunden
device-denied = Dem Gerät wurde der Zugriff verweigert. Sie können diese Seite schließen und zu Ihrem Gerät zurückkehren.

## recover.html
recover-title = Anmeldung nicht möglich?
recover-intro = Wir senden einen Wiederherstellungslink an die Adresse Ihres Kontos. Er funktioniert einmal, { $minutes } Minuten lang.
recover-login-label = Benutzername oder E-Mail-Adresse
recover-send = Wiederherstellungslink senden
recover-sent-title = Sehen Sie in Ihr Postfach
recover-sent = Falls ein Konto passt, haben wir einen Wiederherstellungslink an seine Adresse gesendet. Er funktioniert einmal, { $minutes } Minuten lang. Nichts angekommen? Sehen Sie im Spam-Ordner nach oder fragen Sie in ein paar Minuten erneut.

## setup.html
setup-title = Konto einrichten
setup-recover-title = Konto wiederherstellen
setup-account = Konto { $username }
setup-factor-first = Bestätigen Sie zuerst mit Ihrer Authenticator-App oder einem Ihrer Backup-Codes, dass Sie es sind.
setup-factor-passkey-first = Bestätigen Sie zuerst mit Ihrem Passkey, dass Sie es sind: dem, mit dem Sie sich nach Ihrem Passwort anmelden.
setup-factor-passkey = Passkey verwenden
setup-factor-or-code = Oder geben Sie einen Code aus Ihrer Authenticator-App oder einen Ihrer Backup-Codes ein.
setup-passkey-intro = Melden Sie sich ab jetzt mit einem Passkey an: Ihr Gerät entsperrt ihn mit Ihrem Gesicht, Ihrem Fingerabdruck oder der Bildschirmsperre.
setup-create-passkey = Passkey erstellen
setup-use-password = Stattdessen ein Passwort verwenden
setup-password-hint = Mindestens { $min } Zeichen. Ein paar Wörter ohne Zusammenhang ergeben ein gutes Passwort.
setup-set-password = Passwort festlegen

## signup.html
signup-title = Konto erstellen
signup-submit = Konto erstellen
signup-hint = Wir senden einen Link, um Ihre Adresse zu bestätigen; damit erstellen Sie einen Passkey oder ein Passwort.
signup-sent-title = Sehen Sie in Ihr Postfach
signup-sent = Wir haben einen Link an die angegebene Adresse gesendet. Öffnen Sie ihn innerhalb von 24 Stunden, um Ihr Konto fertig zu erstellen.

## home.html
home-title = Willkommen
home-heading = Willkommen bei { $brand }
home-intro = Melden Sie sich einmal für die Apps an, die diesen Dienst nutzen, und verwalten Sie Passkeys, Passwort und Sitzungen in Ihrem Konto.
home-sign-in = Anmelden
home-your-account = Ihr Konto
home-account-hint = Nach der Anmeldung sehen Sie Ihr Konto: wie Sie sich anmelden, wo Sie angemeldet sind und welchen Apps Sie Zugriff gegeben haben.

## signed_out.html
signed-out-title = Abgemeldet
signed-out-heading = Sie sind abgemeldet
signed-out-again = Erneut anmelden

## confirm_logout.html
logout-title = Abmelden?
logout-client-asks = { $client } möchte Sie von latchkey abmelden.
logout-you-asked = Sie möchten sich von latchkey abmelden.
logout-submit = Abmelden
logout-stay = Angemeldet bleiben

## email.html
email-title = E-Mail-Adresse ändern
email-now = Derzeit: { $email }
email-new-label = Neue E-Mail-Adresse
email-submit = E-Mail-Adresse ändern
email-hint = Wir senden einen Link an die neue Adresse; die Änderung gilt, sobald er benutzt wird. Ihre bisherige Adresse wird benachrichtigt und kann die Änderung 7 Tage lang rückgängig machen.
email-invalid = Diese E-Mail-Adresse können wir nicht verwenden.
email-same = Das ist bereits Ihre Adresse.
email-taken = Diese Adresse gehört bereits zu einem anderen Konto. Bitte wählen Sie eine andere.
email-check-inbox-title = Sehen Sie in Ihr neues Postfach
email-check-inbox = Wir haben einen Link an die neue Adresse gesendet. Ihre Adresse ändert sich, sobald er benutzt wird.
email-confirm-title = Neue Adresse bestätigen
email-confirm-message = Soll { $email } die Adresse Ihres Kontos werden?
email-confirm-button = Neue Adresse bestätigen
email-changed-title = E-Mail-Adresse geändert
email-changed = Ihre Adresse ist jetzt { $email }.
email-revert-title = E-Mail-Adresse wiederherstellen
email-revert-message = Soll { $email } wieder die Adresse Ihres Kontos werden, und sollen alle Sitzungen des Kontos abgemeldet werden?
email-revert-button = Meine Adresse wiederherstellen und überall abmelden
email-restored-title = Adresse wiederhergestellt
email-restored = { $email } ist wieder Ihre Adresse, und alle Sitzungen des Kontos wurden abgemeldet. Falls jemand anderes sie geändert hat, stellen Sie Ihr Konto jetzt wieder her.

## form_post.html
form-post-title = Zurück zur Anwendung
form-post-noscript = Ihr Browser führt keine Skripte aus: Fahren Sie von Hand fort.

## totp.html
totp-title = Authenticator-App
totp-backup-intro = Ihre Authenticator-App ist eingerichtet. Bewahren Sie diese { $codes } sicher auf: Jeder funktioniert einmal, anstelle eines Codes aus der App. Sie werden nur jetzt angezeigt.
totp-backup-codes = Backup-Codes
totp-enrolled = Ihre Authenticator-App ist eingerichtet. { $count ->
    [one] Noch { $count } Backup-Code übrig.
   *[other] Noch { $count } Backup-Codes übrig.
}
totp-new-codes = Neue Backup-Codes
totp-remove = Authenticator-App entfernen
totp-scan = Scannen Sie diesen Code mit Ihrer Authenticator-App oder geben Sie den Schlüssel von Hand ein.
totp-code-wrong = Dieser Code stimmt nicht. Prüfen Sie die Uhrzeit auf Ihrem Telefon und versuchen Sie den nächsten Code.
totp-key = Schlüssel:

## recovery_codes.html
codes-title = Backup-Codes speichern
codes-keep = Bewahren Sie diese Codes sicher und getrennt von Ihren Geräten auf. Jeder funktioniert einmal: um Ihr Konto wiederherzustellen, falls Sie Ihren Passkey oder Ihre Authenticator-App verlieren. Sie werden nur jetzt angezeigt.
codes-continue = Weiter zu Ihrem Konto
codes-intro = Falls Sie Ihr Gerät verlieren, sind Backup-Codes Ihr zweiter Weg hinein. Erstellen Sie sie jetzt und bewahren Sie sie sicher auf.
codes-create = Backup-Codes erstellen
codes-not-now = Nicht jetzt

## password.html
password-title = Passwort ändern
password-hint = Wenn Sie Ihr Passwort ändern, werden Sie überall sonst abgemeldet, und die Sitzungen der Anwendungen enden.
password-current-label = Aktuelles Passwort
password-submit = Passwort ändern
password-wrong = Das aktuelle Passwort stimmt nicht.
password-unusable = Das neue Passwort kann nicht verwendet werden: { $reason }.
password-set-title = Passwort festlegen
password-set-hint = Sie melden sich mit einem Passkey an. Ein Passwort ist ein zweiter Weg hinein, für Geräte ohne Ihren Passkey. Wenn Sie eines festlegen, werden Sie überall sonst abgemeldet.
password-set-submit = Passwort festlegen

## profile.html
profile-title = Ihr Profil
profile-hint = Das erhalten Anwendungen, denen Sie erlauben, Ihr Profil zu sehen.
profile-name-label = Name
profile-given-name-label = Vorname
profile-family-name-label = Nachname
profile-language-label = Sprache
profile-zoneinfo-label = Zeitzone
profile-save = Profil speichern

## delete_account.html
delete-title = Konto löschen
delete-warning = Damit werden Sie überall abgemeldet, alle Anwendungen getrennt und Ihre Passkeys, Ihre Authenticator-App, Ihre Backup-Codes und Ihre persönlichen Daten gelöscht. Das lässt sich nicht rückgängig machen.
delete-confirm-label = Geben Sie zur Bestätigung Ihren Benutzernamen ein: { $username }
delete-submit = Konto löschen
delete-mismatch = Geben Sie zur Bestätigung genau Ihren Benutzernamen ein.

## not_me.html
not-me-title = Das war ich nicht
not-me-done-heading = Diese Sitzung ist beendet
not-me-done = Die Anmeldung, die Sie nicht erkannt haben, ist abgemeldet, und die Anwendungen, die sie genutzt hat, haben keinen Zugriff mehr.
not-me-change-now = Ändern Sie jetzt Ihr Passwort
not-me-change-link = anmelden und ändern
not-me-nothing-heading = Nichts mehr zu beenden
not-me-nothing = Die Sitzung dahinter ist schon beendet, und keine andere Sitzung ist angemeldet.
not-me-check-before = Prüfen Sie dann Ihre
not-me-check-link = Anmeldemethoden
not-me-check-after = auf alles, was Sie nicht hinzugefügt haben.
not-me-heading = Diese Anmeldung beenden?
not-me-device = Angemeldet von { $device }. Falls Sie das nicht waren, beenden Sie diese Sitzung jetzt.
not-me-end = Diese Sitzung beenden
not-me-review-intro = Anmeldemethoden, die Ihrem Konto in den letzten 7 Tagen hinzugefügt wurden. Entfernen Sie alle, die Sie nicht hinzugefügt haben: Danach enden alle Sitzungen.
not-me-review-link = Die in den letzten 7 Tagen hinzugefügten Anmeldemethoden prüfen
review-title = Kürzlich hinzugefügt
review-intro = Anmeldemethoden, die Ihrem Konto in den letzten { $days } Tagen vor dieser Anmeldung hinzugefügt wurden. Entfernen Sie alle, die Sie nicht hinzugefügt haben.
review-nothing = In letzter Zeit wurde nichts hinzugefügt.
review-passkey = Passkey „{ $name }“
review-app = Authenticator-App

## mfa.html
mfa-title = Zweiter Schritt
mfa-use-passkey = Passkey verwenden
mfa-or-app = Oder öffnen Sie Ihre Authenticator-App oder verwenden Sie einen Ihrer Backup-Codes.
mfa-app = Öffnen Sie Ihre Authenticator-App und geben Sie deren Code ein, oder verwenden Sie einen Ihrer Backup-Codes.
mfa-code-wrong = Dieser Code stimmt nicht. Versuchen Sie den nächsten aus Ihrer App oder einen Backup-Code.

## „Bestätigen Sie, dass Sie es sind“ (handlers/risk.rs): der zusätzliche
## Schritt einer riskanten Anmeldung. Nie nennen, was sie riskant machte.
confirm-title = Bestätigen Sie, dass Sie es sind
confirm-intro = Wir haben einen Code an Ihre E-Mail-Adresse gesendet. Geben Sie ihn hier ein, um die Anmeldung abzuschließen.
confirm-code-label = Code
confirm-code-wrong = Dieser Code stimmt nicht. Sehen Sie in der neuesten E-Mail von uns nach und versuchen Sie es erneut.
confirm-too-many = Zu viele falsche Codes. Melden Sie sich erneut an, um einen neuen zu erhalten.
confirm-sign-in-again = Erneut anmelden
confirm-refused = Wir konnten nicht allein mit dem Passwort bestätigen, dass Sie es sind, deshalb wurde diese Anmeldung gestoppt. Wir haben den Inhaber des Kontos per E-Mail informiert.
confirm-refused-todo = Wenn Sie das waren, verwenden Sie „Anmeldung nicht möglich?“, um einen Link per E-Mail zu erhalten. Fügen Sie danach auf Ihrer Kontoseite einen Passkey oder eine Authenticator-App hinzu: Dann fragt eine Anmeldung wie diese danach, statt gestoppt zu werden.

## login.html
login-title = Anmelden
login-continue-to = um mit { $client } fortzufahren
login-passkey = Mit einem Passkey anmelden
login-passkey-phone = Passkey auf dem Smartphone verwenden
login-continue-with = Weiter mit { $provider }
login-link-notice = Melden Sie sich hier bei Ihrem Konto an, um Ihr { $provider }-Konto damit zu verknüpfen. Danach meldet { $provider } Sie an.
login-or-password = oder mit Ihrem Passwort
login-password-label = Passwort
login-remember = Angemeldet bleiben
login-submit = Anmelden
login-wrong = Benutzername oder Passwort ist falsch.

## consent.html
consent-title = Zugriff erlauben?
consent-logo-alt = Logo von { $client }
consent-heading = { $client } erlauben?
consent-self-registered = Diese App hat sich selbst registriert: { $brand } hat nicht geprüft, wer dahinter steht.
consent-metadata-document = Sie beschreibt sich selbst in einem Dokument auf { $host }.
consent-signed-in-as = Angemeldet als { $username }
consent-not-you = Nicht Sie?
consent-asks = { $client } möchte:
consent-may-act = { $actor } darf bei { $apis } in Ihrem Namen handeln.
consent-destination = In beiden Fällen geht es danach zurück zu { $host }.
consent-policy = Datenschutzerklärung von { $client }
consent-terms = Nutzungsbedingungen von { $client }
consent-deny = Ablehnen
consent-allow = Erlauben
consent-device-note = Code { $code }. Erlauben Sie nur ein Gerät vor Ihnen, das diesen Code zeigt: Wer dieses Gerät hat, erhält diesen Zugriff.

## error.html (and the errors it shows)
error-reference = Referenz:
error-cookies-title = Cookies erreichen latchkey nicht
error-cookies = Ihr Browser hat das Cookie von latchkey nicht gesendet, daher geht es hier nicht weiter. Erlauben Sie Cookies für diese Website und versuchen Sie es erneut. Wurde diese Seite über einfaches http:// aufgerufen (außer localhost), verwirft der Browser die sicheren Cookies von latchkey: Verwenden Sie https.
error-expired-title = Anmeldeanfrage abgelaufen
error-expired = Diese Anmeldeanfrage ist abgelaufen oder wurde schon abgeschlossen. Kehren Sie zur Anwendung zurück und beginnen Sie erneut.
error-too-many-title = Zu viele Anfragen
error-too-many = Zu viele Anfragen. Versuchen Sie es in { $minutes } Minute(n) erneut.
error-unavailable-title = Vorübergehend nicht verfügbar
error-unavailable = latchkey erreicht seine Datenbank gerade nicht. Versuchen Sie es gleich noch einmal.
error-internal-title = Etwas ist schiefgegangen
error-internal = Ein interner Fehler ist aufgetreten. Es wurde nichts geändert.

## account.html
account-signed-in = angemeldet
account-with = mit { $methods }
account-prompt-strong = Melden Sie sich mit einem Passkey an.
account-prompt = Melden Sie sich mit Fingerabdruck, Gesicht oder Bildschirmsperre statt mit einem Passwort an: schneller und sicher vor Phishing.
account-not-now = Nicht jetzt
account-methods = Anmeldemethoden
account-passkeys = Passkeys
account-no-passkey = Noch kein Passkey. Ein Passkey meldet Sie mit Fingerabdruck, Gesicht oder Bildschirmsperre an.
account-passkey-name = Name des Passkeys
account-rename = Umbenennen
account-added = hinzugefügt
account-last-used = zuletzt verwendet
account-never-used = noch nie verwendet
account-remove = Entfernen
account-new-passkey-name = Name für einen neuen Passkey
account-add-passkey = Passkey hinzufügen
account-add-security-key = Sicherheitsschlüssel verwenden
account-totp-on = An: Anmeldungen mit Ihrem Passwort fragen auch nach einem Code aus der App.
account-totp-off = Aus
account-totp-set-up = Authenticator-App einrichten
account-backup-codes = Backup-Codes
account-codes-left = { $count ->
    [one] { $count } Code übrig
   *[other] { $count } Codes übrig
}: Jeder funktioniert einmal, falls Sie Ihr Telefon oder Ihre Passkeys verlieren.
account-password = Passwort
account-password-set = Festgelegt
account-password-none = Keines: Sie melden sich mit einem Passkey an.
account-password-remove-hint = Um es zu entfernen, fügen Sie zuerst einen zweiten Passkey, eine Authenticator-App oder Backup-Codes hinzu.
account-remove-password = Passwort entfernen
account-where = Wo Sie angemeldet sind
account-this-device = Dieses Gerät
account-last-active = zuletzt aktiv
account-end-session = Sitzung beenden
account-devices = Gespeicherte Geräte
account-no-devices = Kein Gerät hält Sie angemeldet.
account-this-browser = Dieser Browser
account-remembered = gespeichert
account-until = bis { $date }
account-forget = Vergessen
account-end-others = Überall sonst abmelden
account-end-all = Überall abmelden
account-apps = Verbundene Anwendungen
account-linked = Verknüpfte Anmeldungen
account-unlink = Trennen
account-link-provider = Ihr { $provider }-Konto verknüpfen
account-never = nie
account-no-apps = Keine Anwendung hat Zugriff auf Ihr Konto.
account-revoke = Zugriff entziehen
account-activity = Letzte Aktivitäten
account-nothing-yet = Noch nichts.
account-here = dieser Browser
account-profile = Profil
account-not-given = nicht angegeben
account-edit-profile = Profil bearbeiten
account-unknown-device = Unbekanntes Gerät
account-unknown-address = unbekannte Adresse

## Recent activity on account.html (activity.rs)
activity-sign-in = Angemeldet mit { $methods }
activity-session-restored = Angemeldet durch ein gespeichertes Gerät
activity-failed = Ein Anmeldeversuch ist fehlgeschlagen
activity-password-changed = Passwort geändert
activity-password-set = Passwort festgelegt
activity-password-removed = Passwort entfernt
activity-totp-enrolled = Authenticator-App eingerichtet
activity-totp-removed = Authenticator-App entfernt
activity-passkey-added = Passkey hinzugefügt
activity-passkey-removed = Passkey entfernt
activity-email-changed = E-Mail-Adresse geändert
activity-account-recovered = Konto wiederhergestellt
activity-new-device = Anmeldung von einem neuen Gerät
activity-mfa-reset = Zweiter Faktor von einem Administrator zurückgesetzt
activity-codes-regenerated = Neue Backup-Codes
activity-device-approved = Ein Gerät wurde verbunden (Gerätecode)
activity-not-me = Sie haben Aktivität gemeldet, die Sie nicht erkannt haben
activity-sign-in-new-device-in = Neues Gerät in { $place }: angemeldet mit { $methods }
activity-sign-in-in = Angemeldet mit { $methods } in { $place }
activity-risky-refused = Eine Anmeldung mit Ihrem Passwort wurde gestoppt
activity-code-sent = Ein Code zur Bestätigung einer Anmeldung wurde an Ihre E-Mail gesendet
password-passkey-only = Dieses Konto meldet sich nur mit Passkeys an: Es kann kein Passwort haben.
account-passkey-only = Nur Passkeys
account-passkey-only-note = Dieses Konto meldet sich nur mit Passkeys an. Sein Passwort wird entfernt, sobald es einen Passkey hat.
account-upgraded = Ihr Passwortmanager hat einen Passkey für dieses Konto gespeichert: Melden Sie sich beim nächsten Mal damit an.

## Authenticator policy (issue #29): why a passkey was refused
passkey-refused-not-listed = Ihre Organisation erlaubt diese Art von Passkey nicht. Fragen Sie Ihre Administration, welche Sicherheitsschlüssel oder Passkey-Anbieter Sie verwenden können.
passkey-refused-not-listed-admins = Ihre Organisation erlaubt für Administratoren nur bestimmte Passkeys. Fragen Sie eine andere Administratorin oder einen anderen Administrator, welche.
passkey-refused-security-keys = Ihre Organisation erlaubt nur Sicherheitsschlüssel. Stecken Sie einen Sicherheitsschlüssel (etwa einen YubiKey) ein oder halten Sie ihn an das Gerät.
passkey-refused-security-keys-admins = Ihre Organisation erlaubt für Administratoren nur Sicherheitsschlüssel. Stecken Sie einen Sicherheitsschlüssel (etwa einen YubiKey) ein oder halten Sie ihn an das Gerät.
passkey-refused-not-attested = Dieser Passkey konnte nicht nachweisen, welches Gerät ihn erstellt hat, und Ihre Organisation verlangt das. Versuchen Sie es mit einem Sicherheitsschlüssel oder einem anderen Gerät.
