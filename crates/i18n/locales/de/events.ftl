# Protokollereignisse in einfachen Worten (Protokoll der Konsole, Benutzerseite).

## Eine Nachricht je Ereignisart: event-<Art mit Bindestrichen> (console/audit.rs).
## Dieselben Wörter wie „Letzte Aktivitäten“ auf der Kontoseite.
event-account-deleted = Konto gelöscht
event-account-recovered = Konto wiederhergestellt
event-account-set-up = Konto eingerichtet
event-admin-granted = Zum Administrator gemacht
event-admin-revoked = Administratorrechte entzogen
event-alert-acknowledged = Sicherheitswarnung zur Kenntnis genommen
event-anomaly-credential-stuffing = Sicherheitswarnung: eine Adresse scheitert bei vielen Konten
event-anomaly-failure-spike = Sicherheitswarnung: viele fehlgeschlagene Anmeldungen bei einem Konto
event-anomaly-new-country = Sicherheitswarnung: Anmeldung aus einem neuen Land
event-anomaly-new-device-after-change = Sicherheitswarnung: neues Gerät gleich nach einer Kontoänderung
event-anomaly-refresh-token-reuse = Sicherheitswarnung: Refresh-Token zweimal benutzt
event-api-changed = API geändert
event-api-registered = API registriert
event-api-removed = API entfernt
event-app-disconnected = Anwendung getrennt
event-audit-exported = Protokoll exportiert
event-backchannel-logout-delivered = Abmeldung an eine Anwendung weitergegeben
event-backchannel-logout-failed = Abmeldung konnte nicht an eine Anwendung weitergegeben werden
event-backup-codes-regenerated = Backup-Codes erneuert
event-client-created = Client angelegt
event-client-deleted = Client gelöscht
event-client-disabled = Client deaktiviert
event-client-enabled = Client aktiviert
event-client-scopes-changed = Berechtigungen des Clients geändert
event-client-secret-rotated = Client-Geheimnis erneuert
event-client-updated = Client geändert
event-code-reuse = Autorisierungscode zweimal benutzt
event-consent-denied = Zugriff für eine Anwendung abgelehnt
event-consent-given = Zugriff für eine Anwendung erlaubt
event-device-approved = Ein Gerät wurde verbunden (Gerätecode)
event-device-denied = Ein Gerät wurde abgelehnt (Gerätecode)
event-device-forgotten = Gespeichertes Gerät vergessen
event-device-token-replayed = Gespeichertes Gerät beendet: sein Cookie wurde kopiert
event-email-change-refused = Änderung der E-Mail-Adresse abgelehnt
event-email-change-requested = Änderung der E-Mail-Adresse angefragt
event-email-change-reverted = Änderung der E-Mail-Adresse rückgängig gemacht
event-email-changed = E-Mail-Adresse geändert
event-federated-sign-in-failed = Anmeldung über einen anderen Anbieter fehlgeschlagen
event-federated-sign-up = Über einen anderen Anbieter registriert
event-grants-revoked = Zugriff von Anwendungen widerrufen
event-group-created = Gruppe angelegt
event-group-member-added = Zu einer Gruppe hinzugefügt
event-group-member-removed = Aus einer Gruppe entfernt
event-group-removed = Gruppe entfernt
event-identity-linked = Anmeldung über einen anderen Anbieter verknüpft
event-identity-unlinked = Anmeldung über einen anderen Anbieter getrennt
event-keys-rotated = Signaturschlüssel erneuert
event-login-failed = Ein Anmeldeversuch ist fehlgeschlagen
event-login-throttled = Anmeldung nach zu vielen Versuchen gesperrt
event-mfa-reset-by-admin = Zweiter Faktor von einem Administrator zurückgesetzt
event-new-country-sign-in = Anmeldung aus einem neuen Land
event-new-device-sign-in = Anmeldung von einem neuen Gerät
event-not-me = Aktivität als fremd gemeldet
event-passkey-added = Passkey hinzugefügt
event-passkey-removed = Passkey entfernt
event-passkey-second-factor = Zweiter Schritt mit einem Passkey
event-passkey-sign-in = Mit einem Passkey angemeldet
event-passkey-sign-in-failed = Eine Anmeldung mit Passkey ist fehlgeschlagen
event-password-changed = Passwort geändert
event-password-removed = Passwort entfernt
event-password-set = Passwort festgelegt
event-profile-changed = Profil geändert
event-provider-added = Anmeldedienst hinzugefügt
event-provider-disabled = Anmeldedienst deaktiviert
event-provider-enabled = Anmeldedienst aktiviert
event-provider-removed = Anmeldedienst entfernt
event-provider-updated = Anmeldedienst geändert
event-rate-limited = Zu viele Anfragen: gebremst
event-recent-credential-removed = Eine neu hinzugefügte Anmeldemethode entfernt
event-recovery-factor-failed = Wiederherstellung: zweiter Faktor fehlgeschlagen
event-recovery-factor-passed = Wiederherstellung: zweiter Faktor bestätigt
event-recovery-link-sent-by-admin = Wiederherstellungslink von einem Administrator gesendet
event-recovery-requested = Wiederherstellungslink gesendet
event-recovery-requested-unknown = Wiederherstellung für ein unbekanntes Konto angefragt
event-refresh-token-reuse = Refresh-Token zweimal benutzt: Zugriff widerrufen
event-passkey-only-set = „Nur Passkeys“ geändert
event-passkey-policy-set = Passkey-Richtlinie geändert
event-risk-policy-set = Risikorichtlinie festgelegt
event-risky-sign-in-refused = Riskante Anmeldung gestoppt
event-scim-client-created = SCIM-Client angelegt
event-scim-client-revoked = SCIM-Client widerrufen
event-scim-user-created = Person per SCIM angelegt
event-scim-user-updated = Person per SCIM geändert
event-second-factor-failed = Zweiter Schritt fehlgeschlagen
event-session-moved = Sitzung beendet: von einem anderen Gerät benutzt
event-session-restored = Angemeldet durch ein gespeichertes Gerät
event-sessions-ended = Sitzungen beendet
event-sign-in = Angemeldet
event-sign-in-code-failed = Ein falscher Anmeldecode
event-sign-in-stepped-up = Zusätzliche Prüfung bei der Anmeldung verlangt
event-sign-out = Abgemeldet
event-signup-address-taken = Registrierung mit einer bereits registrierten Adresse
event-signup-requested = Registrierung begonnen
event-token-exchanged = Token für eine API eingetauscht
event-totp-enrolled = Authenticator-App eingerichtet
event-totp-removed = Authenticator-App entfernt
event-user-deleted = Benutzer gelöscht
event-user-disabled = Benutzer deaktiviert
event-user-enabled = Benutzer aktiviert
event-user-invited = Benutzer eingeladen
event-webhook-added = Webhook hinzugefügt
event-webhook-disabled = Webhook nach einem Tag voller Fehler abgeschaltet
event-webhook-removed = Webhook entfernt

## Ergebnisse, als Abzeichen.
audit-outcome-success = Erfolgreich
audit-outcome-failure = Fehlgeschlagen

## Wer es getan hat, wenn kein Benutzer oder Client mit Namen.
audit-actor-none = System oder anonym
audit-actor-cli = Kommandozeile
audit-actor-scim = SCIM-Client { $id }
audit-as-admin = als Administrator
audit-removed = (entfernt)

## Details in Worten, wo das gespeicherte Detail Kürzel sind.
audit-detail-remembered = gespeichertes Gerät
audit-detail-new-device = neues Gerät
audit-detail-first-method = erste Anmeldemethode: { $methods }
audit-detail-no-change = nichts geändert
audit-detail-risk = { $level }: { $signals }
audit-detail-risk-policy = Risikorichtlinie: { $policy }
audit-detail-risk-policy-default = Risikorichtlinie: die Voreinstellung
risk-level-low = geringes Risiko
risk-level-medium = mittleres Risiko
risk-level-high = hohes Risiko
risk-signal-unknown-device = unbekanntes Gerät
risk-signal-new-browser = Browser seit 30 Tagen nicht benutzt
risk-signal-new-network = Netzwerk seit 30 Tagen nicht benutzt
risk-signal-failures = { $count ->
    [one] 1 fehlgeschlagene Anmeldung
   *[other] { $count } fehlgeschlagene Anmeldungen
} in der letzten Stunde
risk-signal-new-country = Land seit 90 Tagen nicht benutzt ({ $country })
risk-signal-travel = unmögliche Reise: { $km } km in { $minutes } Min.
risk-signal-blocklisted = gesperrte Adresse
audit-detail-disowned = „{ $event }“ als fremd gemeldet; { $sessions ->
    [one] 1 Sitzung beendet
   *[other] { $sessions } Sitzungen beendet
}

## Die Protokollseite (/admin/audit).
audit-filters = Ereignisse filtern
audit-user = Benutzer
audit-user-hint = Ein Benutzername oder eine Benutzer-ID.
audit-client = Client
audit-any-client = Jeder Client
audit-event = Ereignis
audit-any-event = Jedes Ereignis
audit-outcome = Ergebnis
audit-any-outcome = Jedes Ergebnis
audit-from = Von (UTC)
audit-to = Bis (UTC, ganzer Tag)
audit-show = Ereignisse zeigen
audit-clear = Filter zurücksetzen
audit-quick = Zuletzt:
audit-last-hour = Letzte Stunde
audit-last-day = Letzter Tag
audit-last-week = Letzte Woche
audit-since = Ab { $time }
audit-until = Vor { $time }
audit-any-time = Beliebige Zeit
audit-count = { $count ->
    [one] { $shown } Ereignis
   *[other] { $shown } Ereignisse
}
audit-none = Keine Ereignisse passen zu diesen Filtern.
audit-unknown-user = Kein Benutzer heißt „{ $user }“, und keiner hat diese ID.
audit-removed-user = Kein Benutzer heißt jetzt „{ $user }“: Dies sind die Ereignisse eines entfernten Benutzers.
audit-removed-client = { $client } (entfernt)
audit-bad-date = „{ $value }“ ist kein Datum (Jahr-Monat-Tag) und wurde daher nicht berücksichtigt.
audit-export = Diese Ereignisse exportieren:
audit-export-csv = CSV (Tabellenkalkulation)
audit-export-jsonl = JSON Lines
audit-pages = Seiten der Ereignisse
audit-older = Ältere Ereignisse
audit-newest = Neueste Ereignisse

## Spalten der Ereignistabelle (Protokoll, Benutzerseite).
audit-col-time = Zeit
audit-col-event = Ereignis
audit-col-outcome = Ergebnis
audit-col-by = Durch
audit-col-user = Benutzer
audit-col-client = Client
audit-col-address = Adresse
audit-col-details = Details
