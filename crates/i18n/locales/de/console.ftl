# Die Admin-Konsole (/admin): Navigation, Aufbau und die Wörter der Seiten.
# Ereignisnamen und Ergebnisse des Protokolls stehen in events.ftl.

console-nav = Admin-Konsole
console-title = { $page } · Admin
console-overview = Übersicht
console-users = Benutzer
console-clients = Clients
console-audit = Protokoll
console-keys = Signaturschlüssel
console-providers = Anmeldedienste
console-copy-id = Die ganze ID kopieren
console-id = ID
console-cancel = Abbrechen
console-delete-user = Benutzer löschen
console-confirm-delete-user = { $username } löschen?
console-confirm-sessions-end = { $count ->
    [one] Die eine Sitzung endet.
   *[other] Die { $count } Sitzungen enden.
}
console-confirm-grants-revoked = { $count ->
    [one] Die eine erlaubte App verliert ihren Zugriff.
   *[other] Die { $count } erlaubten Apps verlieren ihren Zugriff.
}

# users: die Liste (/admin/users) und die Seite eines Benutzers (/admin/users/{id})
console-users-title = Benutzer
console-users-count = { $count ->
    [0] Noch keine Benutzer
    [one] 1 Benutzer
   *[other] { $shown } Benutzer
}
console-users-matching = { $count ->
    [0] Kein Benutzer passt zu „{ $q }“
    [one] 1 Benutzer passt zu „{ $q }“
   *[other] { $shown } Benutzer passen zu „{ $q }“
}
console-users-range = { $first }–{ $last } werden gezeigt
console-users-page = Seite { $page } von { $pages }
console-users-pages = Seiten
console-users-previous = Zurück
console-users-next = Weiter
console-users-search-label = Nach Benutzername oder E-Mail-Adresse suchen
console-users-search = Suchen
console-users-clear = Alle zeigen
console-users-empty-page = Noch keine Benutzer.
console-users-none = Kein Benutzer passt.
console-users-col-select = Auswählen
console-users-col-username = Benutzername
console-users-col-email = E-Mail-Adresse
console-users-col-account = Konto und Anmeldung
console-users-col-last-sign-in = Letzte Anmeldung
console-users-col-created = Angelegt
console-users-select = { $username } auswählen
console-users-never = nie
console-users-bulk-legend = Mit den ausgewählten Benutzern
console-users-bulk-end-sessions = Sitzungen beenden
console-users-bulk-disable = Sperren
console-badge-admin = Admin
console-badge-disabled = gesperrt
console-badge-invited = eingeladen, noch nie angemeldet
console-badge-passkeys = { $count ->
    [one] Passkey
   *[other] { $count } Passkeys
}
console-badge-second-factor = zweiter Faktor
console-badge-password-only = nur Passwort
console-badge-linked = verknüpftes Konto
console-users-and-more = { $names } und { $count } weitere
console-users-skipped = Ausgelassen: { $names }.
console-users-skip-yourself = { $username } (das sind Sie)
console-users-skip-last-admin = { $username } (der letzte Administrator)
console-users-skip-already-disabled = { $username } (schon gesperrt)
console-users-confirm-disable = { $count ->
    [one] 1 Benutzer sperren: { $names }?
   *[other] { $count } Benutzer sperren: { $names }?
}
console-users-confirm-disable-means = Ihre Sitzungen, gemerkten Geräte und Tokens enden, und sie können sich erst wieder anmelden, wenn ein Administrator sie entsperrt.
console-users-disable-label = { $count ->
    [one] 1 Benutzer sperren
   *[other] { $count } Benutzer sperren
}
console-users-confirm-end-sessions = { $count ->
    [one] Alle Sitzungen von 1 Benutzer beenden: { $names }?
   *[other] Alle Sitzungen von { $count } Benutzern beenden: { $names }?
}
console-users-confirm-end-means = Ihre Sitzungen, gemerkten Geräte und Tokens enden; sie können sich sofort wieder anmelden.
console-users-end-label = { $count ->
    [one] Sitzungen von 1 Benutzer beenden
   *[other] Sitzungen von { $count } Benutzern beenden
}
console-users-done-disabled = { $count ->
    [0] Kein Benutzer gesperrt.
    [one] 1 Benutzer gesperrt: { $names }.
   *[other] { $count } Benutzer gesperrt: { $names }.
}
console-users-done-sessions-ended = { $count ->
    [0] Keine Sitzungen beendet.
    [one] Sitzungen von 1 Benutzer beendet: { $names }.
   *[other] Sitzungen von { $count } Benutzern beendet: { $names }.
}
console-users-done-none-selected = Wählen Sie zuerst Benutzer aus, mit den Kästchen in der ersten Spalte.
console-users-invite = Benutzer einladen
console-users-invite-hint = Er bekommt eine E-Mail mit einem einmaligen Link, um einen Passkey oder ein Passwort einzurichten.
console-users-invite-username = Benutzername
console-users-invite-email = E-Mail-Adresse
console-users-invite-taken = Dieser Benutzername ist vergeben.
console-users-invite-invalid = Prüfen Sie den Benutzernamen (1 bis 64 Buchstaben, Ziffern oder . - _) und die E-Mail-Adresse.
console-user-invited = Einladung an { $email } geschickt.
console-user-invite-mailed = { $username } ist eingeladen: Dieser Link zum Einrichten ging per E-Mail an { $email }. Er funktioniert einmal, innerhalb von { $hours } Stunden.
console-user-invite-link = Link zum Einrichten
console-user-copy = Link kopieren
console-user-copied = Kopiert.
console-user-email-verified = bestätigt
console-user-email-unverified = nicht bestätigt
console-user-never-signed-in = noch nie angemeldet
console-user-yourself = Das sind Sie: Sich selbst können Sie nicht sperren, herabstufen oder löschen.
console-user-methods = Anmeldemethoden
console-user-password-set = Passwort gesetzt
console-user-password-passkey-only = Kein Passwort (nur Passkey)
console-user-password-linked = Kein Passwort (meldet sich mit einem verknüpften Konto an)
console-user-password-invited = Noch kein Passwort: Die Einladung ist nicht angenommen
console-user-password-none = Kein Passwort
console-user-app-on = { $count ->
    [0] Authenticator-App, keine Backup-Codes mehr
    [one] Authenticator-App, 1 Backup-Code übrig
   *[other] Authenticator-App, { $count } Backup-Codes übrig
}
console-user-app-off = Keine Authenticator-App
console-user-app-off-codes = { $count ->
    [one] Keine Authenticator-App; 1 Backup-Code übrig
   *[other] Keine Authenticator-App; { $count } Backup-Codes übrig
}
console-user-passkeys = Passkeys
console-user-no-passkeys = Kein Passkey.
console-user-added = hinzugefügt
console-user-last-used = zuletzt benutzt
console-user-never-used = nie benutzt
console-user-linked = Verknüpfte Konten
console-user-sessions = Sitzungen
console-user-no-sessions = Nirgends angemeldet.
console-user-unknown-device = Unbekanntes Gerät
console-user-unknown-address = unbekannte Adresse
console-user-signed-in = angemeldet
console-user-with = mit { $methods }
console-user-last-active = zuletzt aktiv
console-user-apps = Verbundene Apps
console-user-no-apps = Keine App hat Zugriff.
console-user-app-can = darf { $what }
console-user-allowed = verbunden
console-user-scope-openid = wissen, wer sie sind
console-user-scope-profile = ihren Namen und ihr Profil sehen
console-user-scope-email = ihre E-Mail-Adresse sehen
console-user-scope-offline-access = verbunden bleiben, während sie nicht da sind
console-user-scope-groups = ihre Gruppen sehen
console-user-scope-admin = latchkey verwalten
console-user-scope-scim = Benutzer provisionieren (SCIM)
console-user-actions = Aktionen
console-user-risk = Riskante Anmeldungen
console-user-risk-intro = Wie Anmeldungen geprüft werden, die nicht wie die üblichen dieses Benutzers aussehen: aus (kein zusätzlicher Schritt), standard (ein Code per E-Mail oder der zweite Faktor, wenn eine Anmeldung riskant aussieht) oder streng (auch bei kleineren Änderungen, etwa einem neuen Land oder Netz).
console-user-risk-policy = Richtlinie
console-user-risk-default = Voreinstellung: { $policy }
console-user-risk-save = Richtlinie speichern
console-risk-policy-off = Aus
console-risk-policy-standard = Standard
console-risk-policy-strict = Streng
console-user-events = Letzte Ereignisse
console-user-action-end-sessions = Alle Sitzungen beenden
console-user-action-disable = Benutzer sperren
console-user-action-enable = Benutzer entsperren
console-user-action-grant-admin = Zum Admin machen
console-user-action-revoke-admin = Admin-Rechte entziehen
console-user-action-reset-mfa = Zweiten Faktor zurücksetzen
console-user-action-recovery-link = Wiederherstellungslink schicken
console-user-confirm-disable = { $username } sperren?
console-user-confirm-disable-means = Eine Anmeldung ist erst wieder möglich, wenn ein Administrator entsperrt.
console-user-confirm-tokens-end = Die Tokens ihrer Apps funktionieren nicht mehr.
console-user-confirm-reset-mfa = Den zweiten Faktor von { $username } zurücksetzen?
console-user-confirm-reset-removes = { $count ->
    [0] Die Authenticator-App wird entfernt.
    [one] Die Authenticator-App und 1 Backup-Code werden entfernt.
   *[other] Die Authenticator-App und { $count } Backup-Codes werden entfernt.
}
console-user-confirm-reset-removes-codes = { $count ->
    [one] 1 Backup-Code wird entfernt.
   *[other] { $count } Backup-Codes werden entfernt.
}
console-user-confirm-reset-told = Die Person wird per E-Mail informiert; bis sie einen neuen zweiten Faktor einrichtet, genügt ihr Passwort oder Passkey allein.
console-user-confirm-end-sessions = { $count ->
    [0] Die gemerkten Geräte und Tokens von { $username } beenden?
    [one] Die eine Sitzung von { $username } beenden?
   *[other] { $count } Sitzungen von { $username } beenden?
}
console-user-confirm-devices = { $count ->
    [one] Das eine gemerkte Gerät wird vergessen.
   *[other] Die { $count } gemerkten Geräte werden vergessen.
}
console-user-confirm-end-means = Eine neue Anmeldung ist sofort möglich.
console-user-confirm-revoke-admin = { $username } die Admin-Rechte entziehen?
console-user-confirm-revoke-admin-means = Die Konsole und alle Administrator-Aktionen sind dann nicht mehr möglich.
console-user-done-sessions-ended = { $count ->
    [0] { $username } hatte keine offene Sitzung; gemerkte Geräte und Tokens sind beendet.
    [one] 1 Sitzung von { $username } beendet, mit den gemerkten Geräten und Tokens.
   *[other] { $count } Sitzungen von { $username } beendet, mit den gemerkten Geräten und Tokens.
}
console-user-done-disabled = { $username } gesperrt: Alle Sitzungen und Tokens sind beendet.
console-user-done-enabled = { $username } entsperrt: Eine Anmeldung ist wieder möglich.
console-user-done-admin-granted = { $username } ist jetzt Administrator.
console-user-done-admin-revoked = { $username } ist kein Administrator mehr.
console-user-done-mfa-reset = Der zweite Faktor von { $username } ist zurückgesetzt und die Sitzungen sind beendet; die Person wurde per E-Mail informiert.
console-user-done-recovery-link = Ein Wiederherstellungslink ging per E-Mail an { $username }.
console-user-done-deleted = { $username } gelöscht.

# clients
console-name = Name
console-type = Art
console-never = nie
console-none = keine
console-disabled = deaktiviert
console-user = Benutzer
console-scopes = Berechtigungen
console-actions = Aktionen
console-edit = Bearbeiten
console-revoke = Widerrufen
console-clients-count = { $count ->
    [one] Ein Client.
   *[other] { $count } Clients.
}
console-client-id = Client-ID
console-client-secret = Client-Geheimnis
console-client-created = Angelegt. Kopieren Sie das Geheimnis jetzt: Es wird nur einmal gezeigt.
console-new-secret = Neues Geheimnis (nur einmal gezeigt):
console-secret-rotated = Geheimnis erneuert; das alte gilt nicht mehr.
console-client-public = Öffentlich
console-client-confidential = Vertraulich
console-client-self-registered = hat sich selbst registriert
console-client-metadata-document = durch sein Metadatendokument beschrieben
console-client-document-on = sein Dokument liegt auf { $host }
console-grant-types = Grant-Typen
console-grant-authorization-code = Anmeldung (Autorisierungscode)
console-grant-refresh-token = Refresh-Tokens
console-grant-client-credentials = Handelt für sich selbst (Client Credentials)
console-grant-device-code = Geräte ohne Browser (Gerätecode)
console-grant-token-exchange = Token-Austausch
console-users-with-grants = Benutzer
console-last-used = Zuletzt genutzt
console-create-client = Client anlegen
console-redirect-uris = Weiterleitungs-URIs
console-one-per-line = Eine pro Zeile.
console-public-client-help = Öffentlicher Client (Single-Page- oder Mobil-App: kein Geheimnis, PKCE)
console-grant-types-help = authorization_code, refresh_token, client_credentials (nur vertraulich), urn:ietf:params:oauth:grant-type:device_code (Geräte ohne Browser: keine Weiterleitungs-URI nötig)
console-allowed-scopes = Erlaubte Berechtigungen
console-post-logout-uris = Weiterleitungs-URIs nach dem Abmelden
console-backchannel-uri = URI für Back-Channel-Abmeldung
console-token-exchange-to = Darf Tokens tauschen in
console-policies = Richtlinien
console-require-par = Muss seine Autorisierungsanfragen vorab senden (PAR)
console-require-dpop = Seine Tokens müssen an einen Schlüssel gebunden sein (DPoP)
console-jwks-uri = Wo er seine Schlüssel veröffentlicht (JWKS-URL)
console-keys-private-key-jwt = Er meldet sich mit seinen Schlüsseln an (private_key_jwt).
console-keys-registered = Seine Schlüssel sind hier hinterlegt.
console-keys-none = Keine Schlüssel: Er meldet sich mit seinem Geheimnis an oder ist öffentlich.
console-save-policies = Richtlinien speichern
console-grants = Freigaben
console-no-grants = Noch kein Benutzer hat diesen Client erlaubt.
console-refresh-families = Refresh-Token-Familien
console-revoke-grant-of = Freigabe von { $username } widerrufen
console-logo-uri = Logo-URL
console-policy-uri = URL der Datenschutzerklärung
console-tos-uri = URL der Nutzungsbedingungen
console-links-help = Auf der Zustimmungsseite gezeigt; nur https (http auf localhost).
console-save-client = Client speichern
console-revoke-all-count = { $count ->
    [one] Die eine Freigabe widerrufen
   *[other] Alle { $count } Freigaben widerrufen
}
console-confirm-revoke-all = { $count ->
    [one] Die eine Freigabe von { $client } widerrufen?
   *[other] { $count } Freigaben von { $client } widerrufen?
}
console-confirm-revoke-all-detail = Ihre Refresh-Tokens gelten sofort nicht mehr; jeder Benutzer wird bei der nächsten Anmeldung erneut gefragt.
console-confirm-client-grants-end = { $count ->
    [0] Noch kein Benutzer hat ihn erlaubt.
    [one] Die Freigabe eines Benutzers wird widerrufen.
   *[other] Die Freigaben von { $count } Benutzern werden widerrufen.
}
console-disable-client = Client deaktivieren
console-enable-client = Client aktivieren
console-confirm-disable-client = { $client } deaktivieren?
console-delete-client = Client löschen
console-confirm-delete-client = { $client } löschen?
console-confirm-delete-client-detail = Seine Einstellungen sind endgültig weg; registrieren Sie ihn neu, um ihn zurückzuholen.
console-rotate-secret = Geheimnis erneuern
console-confirm-rotate-secret = Das Geheimnis von { $client } erneuern?
console-confirm-rotate-secret-detail = Das alte Geheimnis gilt sofort nicht mehr: Die App braucht das neue vor ihrer nächsten Anfrage.

# overview: die Zahlen von jetzt und die Diagramme der letzten 30 Tage (/admin)
console-overview-now = Aktuell
console-overview-users = Benutzer
console-overview-sessions = Aktive Sitzungen
console-overview-with-passkey = Benutzer mit Passkey
console-overview-with-second-factor = Benutzer mit zweitem Faktor
console-overview-password-only = Benutzer nur mit Passwort
console-overview-failures-24h = Fehlgeschlagene Anmeldungen, letzte 24 h
console-overview-reuse-24h = Wiederverwendete Refresh-Tokens, letzte 24 h
console-overview-share = { $pct } % der Benutzer
console-overview-days-note = Die Diagramme zeigen die letzten 30 Tage in UTC; heute bis jetzt.
console-overview-sign-ins = Anmeldungen pro Tag
console-overview-failures = Fehlgeschlagene und gedrosselte Anmeldungen pro Tag
console-overview-adoption = Verbreitung von Passkeys und zweitem Faktor
console-overview-adoption-note = Benutzer am Ende jedes Tages, aus dem Protokoll ermittelt; gelöschte Konten sind nicht mitgezählt.
console-overview-method-passkey = Passkey
console-overview-method-password-second-factor = Passwort und zweiter Faktor
console-overview-method-password-only = Nur Passwort
console-overview-method-federated = Anmeldedienst
console-overview-method-other = Sonstige
console-overview-failure-password = Falsches Passwort
console-overview-failure-second-factor = Falscher Code des zweiten Faktors
console-overview-failure-refused = Passkey oder Anmeldedienst abgelehnt
console-overview-failure-throttled = Gedrosselt: zu viele Versuche
console-overview-failure-rate-limited = Über dem Anfragelimit
console-overview-adoption-passkey = Benutzer mit Passkey
console-overview-adoption-second-factor = Benutzer mit zweitem Faktor
console-overview-numbers = Zahlen
console-overview-day-column = Tag
console-overview-total = Gesamt
# { $month }: month-1…month-12 (common.ftl)
console-overview-date = { $day }. { $month } { $year }
# { $month }: console-overview-month-1…12 unten
console-overview-date-short = { $day }. { $month }
console-overview-weekday-date = { $weekday }, { $date }
console-overview-part = { $series }: { $count }
console-overview-summary = { $title }, { $from } bis { $to }: insgesamt { $total } ({ $parts }).
console-overview-peak = Die meisten am { $day }: { $count }.
console-overview-none = Keine in diesen 30 Tagen.
console-overview-line-part = { $series } von { $first } auf { $last }
console-overview-line-summary = { $title }, { $from } bis { $to }: { $parts }.
console-overview-month-1 = Jan.
console-overview-month-2 = Feb.
console-overview-month-3 = März
console-overview-month-4 = Apr.
console-overview-month-5 = Mai
console-overview-month-6 = Juni
console-overview-month-7 = Juli
console-overview-month-8 = Aug.
console-overview-month-9 = Sept.
console-overview-month-10 = Okt.
console-overview-month-11 = Nov.
console-overview-month-12 = Dez.

# keys
console-keys-lead = latchkey signiert Tokens mit diesen Schlüsseln; vertrauende Anwendungen holen die veröffentlichten von /jwks. Ein neuer Schlüssel wird veröffentlicht, bevor er signiert; ein alter bleibt veröffentlicht, bis jedes damit signierte Token abgelaufen ist.
console-key-id = Schlüssel-ID
console-algorithm = Algorithmus
console-state = Zustand
console-created = Angelegt
console-key-active = signiert jetzt
console-key-next = veröffentlicht, signiert als Nächster
console-key-published = veröffentlicht
console-key-retired = ausgemustert
console-rotate-keys = Jetzt erneuern

# providers
console-providers-lead = Externe OpenID-Connect-Anbieter, mit denen sich Benutzer anmelden können („Weiter mit …“). Tragen Sie beim Anbieter jeweils die Rückruf-URL ein.
console-issuer = Aussteller
console-domains = Domains
console-existing-email = Vorhandene E-Mail
console-existing-email-long = Wenn ein Konto die E-Mail-Adresse schon hat
console-signup = Registrierung
console-callback-url = Rückruf-URL
console-on = an
console-off = aus
console-enabled = aktiviert
console-enable = Aktivieren
console-disable = Deaktivieren
console-remove = Entfernen
console-add-provider = Anbieter hinzufügen
console-provider-name = Name (auf der Schaltfläche)
console-provider-domains = E-Mail-Domains, die zu ihm gehen (durch Leerzeichen getrennt)
console-link-existing-sign-in = der Benutzer meldet sich erst dort an, dann wird verknüpft
console-link-verified-email = verknüpft, wenn der Anbieter die E-Mail bestätigt hat und ihre Domain gelistet ist
console-link-existing-sign-in-short = nach Anmeldung am Konto
console-link-verified-email-short = bei bestätigter E-Mail
console-provider-signup = Bei der ersten Anmeldung ein Konto anlegen
console-provider-trust-mfa = Mehr-Faktor-Anmeldungen des Anbieters hier anrechnen
console-provider-logout = Abmelden hier meldet auch beim Anbieter ab

# notices (fixed texts an action leaves for the next page)
console-notice-sessions-ended = Alle Sitzungen, gemerkten Geräte und Tokens des Benutzers sind beendet.
console-notice-user-disabled = Benutzer deaktiviert; alle Sitzungen und Tokens sind beendet.
console-notice-user-enabled = Benutzer aktiviert.
console-notice-admin-granted = Der Benutzer ist jetzt Administrator.
console-notice-admin-revoked = Administratorrechte entzogen.
console-notice-mfa-reset = Authenticator-App und Wiederherstellungscodes entfernt; der Benutzer wurde benachrichtigt.
console-notice-recovery-link-sent = Wiederherstellungslink gesendet.
console-notice-user-deleted = Benutzer gelöscht.
console-notice-grants-revoked = Alle Freigaben widerrufen; ihre Refresh-Tokens gelten nicht mehr.
console-notice-user-grant-revoked = Die Freigabe des Benutzers ist widerrufen; ihre Refresh-Tokens gelten nicht mehr.
console-notice-client-disabled = Client deaktiviert.
console-notice-client-enabled = Client aktiviert.
console-notice-client-updated = Client gespeichert.
console-notice-client-deleted = Client gelöscht; was ihm ausgestellt war, wurde zuvor widerrufen.
console-notice-client-policies-updated = Richtlinien des Clients gespeichert.
console-notice-keys-rotated = Neue Schlüssel veröffentlicht; sie signieren in 10 Minuten.

## Sicherheitswarnungen (/admin/alerts, Issue #32): console/alerts.rs.
console-alerts = Sicherheitswarnungen
console-alerts-lead = latchkey beobachtet die Sicherheitsereignisse auf das, was kein einzelnes verrät: ein Konto, bei dem die Anmeldung immer wieder fehlschlägt, eine Adresse, die bei vielen Konten scheitert, ein zweimal benutztes Refresh-Token, eine Anmeldung aus einem neuen Land, ein neues Gerät gleich nach einer Wiederherstellung oder einer Änderung der E-Mail-Adresse. Jede Warnung kommt höchstens einmal pro Stunde; spätere Funde erhöhen ihre Anzahl.
console-alerts-open = Offen
console-alerts-none-open = Keine offenen Warnungen: Es gibt nichts zu prüfen.
console-alerts-acknowledged = Zur Kenntnis genommen
console-alerts-none-acknowledged = Noch keine zur Kenntnis genommen.
console-alerts-account = Konto
console-alerts-address = Adresse
console-alerts-first-seen = Zuerst gesehen
console-alerts-last-seen = Zuletzt gesehen
console-alerts-count = Ereignisse
console-alerts-acknowledge = Zur Kenntnis nehmen
console-alerts-acknowledged-by = Zur Kenntnis genommen von { $name }, { $when }
console-alerts-someone = einem Administrator
console-notice-alert-acknowledged = Warnung zur Kenntnis genommen.
console-notice-risk-policy-set = Risikorichtlinie gespeichert.
console-overview-open-alerts = { $count ->
    [0] Keine offenen Sicherheitswarnungen.
    [one] Eine offene Sicherheitswarnung.
   *[other] { $count } offene Sicherheitswarnungen.
}
alert-kind-failure-spike = Viele fehlgeschlagene Anmeldungen bei einem Konto
alert-kind-credential-stuffing = Eine Adresse scheitert bei vielen Konten
alert-kind-refresh-token-reuse = Refresh-Token zweimal benutzt
alert-kind-new-country = Anmeldung aus einem neuen Land
alert-kind-new-device-after-change = Neues Gerät gleich nach einer Kontoänderung
alert-evidence-failure-spike = { $failures } fehlgeschlagene Anmeldungen bei diesem Konto innerhalb von { $minutes } Minuten.
alert-evidence-credential-stuffing = Fehlgeschlagene Anmeldungen mit Passwort bei { $accounts } verschiedenen Konten von dieser Adresse innerhalb von { $minutes } Minuten.
alert-evidence-refresh-token-reuse = Ein Refresh-Token von { $client } wurde ein zweites Mal benutzt, jemand hat also eine Kopie. Die Tokens dieser Anmeldung wurden widerrufen.
alert-evidence-new-country = Eine Anmeldung aus { $country }, einem Land, aus dem sich dieses Konto zuletzt nicht angemeldet hat.
alert-evidence-after-recovery = Eine Anmeldung von einem neuen Gerät { $minutes ->
    [one] eine Minute
   *[other] { $minutes } Minuten
}, nachdem das Konto wiederhergestellt wurde.
alert-evidence-after-email-change = Eine Anmeldung von einem neuen Gerät { $minutes ->
    [one] eine Minute
   *[other] { $minutes } Minuten
}, nachdem seine E-Mail-Adresse geändert wurde.
console-user-passkey-only = Nur Passkeys
console-user-passkey-only-intro = Ein Konto nur mit Passkeys kann kein Passwort haben: Sein Passwort wird entfernt, sobald es einen Passkey hat, und die Wiederherstellung bietet nur einen neuen Passkey an.
console-user-passkey-only-policy = Jedes Konto wie dieses meldet sich nur mit Passkeys an (LATCHKEY_PASSKEY_ONLY).
console-user-passkey-only-on = Nur Passkeys erlauben
console-user-passkey-only-off = Wieder ein Passwort erlauben
console-notice-passkey-only-set = „Nur Passkeys“ geändert.
console-overview-passkey-only = Benutzer nur mit Passkeys
audit-detail-passkey-only-on = nur Passkeys
audit-detail-passkey-only-off = wieder ein Passwort erlaubt
console-passkeys = Passkeys
console-passkeys-lead = Welche Passkeys registriert werden dürfen. Passkeys, die vor einer strengeren Richtlinie registriert wurden, funktionieren weiter; entfernen Sie sie auf der Seite der Person.
console-passkeys-for-everyone = Alle
console-passkeys-for-admins = Administratoren
console-passkeys-in-force = Gilt:
console-passkeys-chosen-here = hier gewählt
console-passkeys-from-configuration = aus der Serverkonfiguration
console-passkeys-allowed = Erlaubte Passkeys
console-passkeys-allowed-any = Jeder Passkey
console-passkeys-allowed-listed = Nur die unten aufgeführten Modelle
console-passkeys-allowed-security-keys = Nur Hardware-Sicherheitsschlüssel
console-passkeys-any = Jeder Passkey
console-passkeys-listed-n = Nur { $count ->
    [one] ein aufgeführtes Modell
   *[other] { $count } aufgeführte Modelle
}
console-passkeys-security-keys = Nur Hardware-Sicherheitsschlüssel (attestiert)
console-passkeys-attested = attestiert
console-passkeys-aaguids = Erlaubte Modelle (AAGUIDs)
console-passkeys-aaguids-hint = Eine AAGUID pro Zeile, für „Nur die unten aufgeführten Modelle“. Ohne Attestierung ist ein Modell das, was der Authenticator angibt.
console-passkeys-require-attestation = Attestierung verlangen: Der Authenticator weist sein Modell nach, geprüft gegen die FIDO-Metadaten (nur gerätegebundene Passkeys)
console-passkeys-save = Richtlinie speichern
console-passkeys-reset = Die der Konfiguration verwenden
console-passkeys-bad-aaguids = Die AAGUIDs konnten nicht gelesen werden: { $reason }
console-passkeys-metadata = FIDO-Metadaten
console-passkeys-metadata-serial = Seriennummer
console-passkeys-metadata-next = Nächste Aktualisierung fällig
console-passkeys-metadata-stale = (überfällig: neuen BLOB herunterladen)
console-passkeys-metadata-models = Authenticator-Modelle
console-passkeys-metadata-keys = Davon Sicherheitsschlüssel
console-passkeys-metadata-unreadable = Der Metadaten-BLOB (LATCHKEY_FIDO_MDS) lässt sich nicht lesen oder prüfen; siehe das Log des Servers.
console-passkeys-no-metadata = Es ist kein FIDO-Metadaten-BLOB konfiguriert (LATCHKEY_FIDO_MDS): Attestierung kann nicht verlangt und Sicherheitsschlüssel können nicht erkannt werden.
console-notice-passkey-policy-set = Passkey-Richtlinie geändert.
console-webhooks = Webhooks
console-webhooks-lead = Andere Systeme erfahren von Sicherheitsereignissen, signiert nach der Standard-Webhooks-Spezifikation. Hinzufügen und entfernen mit latchkey webhook.
console-webhooks-none = Noch keine Webhooks: latchkey webhook add --url https://… --event sign_in
console-webhooks-events = Ereignisse
console-webhooks-every-event = alle Ereignisse
console-webhooks-pending = Warten auf Zustellung
console-webhooks-id = Id
console-webhooks-on = An
console-webhooks-off = Aus: einen Tag lang fehlgeschlagene Zustellungen (latchkey webhook enable schaltet ihn wieder ein)
console-webhooks-failing = Schlägt fehl seit { $since }
console-webhooks-no-attempts = Noch nichts gesendet.
console-webhooks-attempts = Die letzten 50 Versuche, neueste zuerst
console-webhooks-when = Wann
console-webhooks-event = Ereignis
console-webhooks-result = Ergebnis
console-webhooks-took = Dauer
console-webhooks-enable = Wieder einschalten
console-webhooks-remove = Entfernen
console-notice-webhook-enabled = Webhook wieder eingeschaltet.
console-notice-webhook-removed = Webhook entfernt.
