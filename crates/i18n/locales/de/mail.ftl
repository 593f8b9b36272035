# Benachrichtigungen per Mail (crates/authn/src/notice.rs).

mail-hello = Hallo { $username },
mail-hello-anonymous = Hallo,
mail-footer = Dies ist eine automatische Nachricht von { $brand }.
mail-link-hint = Falls die Schaltfläche nicht funktioniert, öffnen Sie diesen Link:

mail-invitation-subject = Sie sind zu latchkey eingeladen
mail-invitation-intro = Für Sie wurde ein Konto erstellt. Öffnen Sie diesen Link innerhalb von { $hours } Stunden, um festzulegen, wie Sie sich anmelden (mit einem Passkey oder einem Passwort):
mail-invitation-action = Konto einrichten
mail-invitation-after = Der Link funktioniert einmal. Falls Sie damit nicht gerechnet haben, ignorieren Sie diese Nachricht.

mail-signup-address-taken-subject = Jemand wollte mit Ihrer Adresse ein Konto erstellen
mail-signup-address-taken-intro = Jemand wollte mit dieser Adresse ein latchkey-Konto erstellen. Sie haben bereits eines. Falls Sie es waren, melden Sie sich an oder verwenden Sie „Anmeldung nicht möglich?“ auf der Anmeldeseite:
mail-signup-address-taken-action = Anmeldung nicht möglich?
mail-signup-address-taken-after = Falls Sie es nicht waren, ist nichts zu tun.

mail-signup-username-taken-subject = Dieser Benutzername ist vergeben
mail-signup-username-taken-intro = Jemand (vielleicht Sie) wollte für diese Adresse ein latchkey-Konto mit dem Benutzernamen „{ $username }“ erstellen, der bereits vergeben ist. Wählen Sie einen anderen:
mail-signup-username-taken-action = Anderen Benutzernamen wählen

mail-signup-confirm-subject = Bestätigen Sie Ihre E-Mail-Adresse
mail-signup-confirm-intro = Öffnen Sie diesen Link innerhalb von { $hours } Stunden, um Ihre Adresse zu bestätigen und festzulegen, wie Sie sich anmelden:
mail-signup-confirm-action = Adresse bestätigen
mail-signup-confirm-after = Der Link funktioniert einmal. Falls Sie kein Konto angefordert haben, ignorieren Sie diese Nachricht.

mail-recovery-subject = Jemand möchte Ihr Konto wiederherstellen
mail-recovery-intro = Jemand hat angefragt, Ihr latchkey-Konto wiederherzustellen. Falls Sie es waren, öffnen Sie diesen Link innerhalb von { $minutes } Minuten:
mail-recovery-action = Konto wiederherstellen
mail-recovery-after = Der Link funktioniert einmal; eine neue Anfrage ersetzt ihn. Falls Sie es nicht waren, ignorieren Sie diese Nachricht: Nichts ändert sich, solange der Link nicht benutzt wird, und bevor er jemanden ein neues Passwort oder einen neuen Passkey festlegen lässt, fragt er nach Ihrem zweiten Faktor (Ihrem Passkey, Ihrer Authenticator-App oder einem Backup-Code), falls Sie einen haben.

mail-admin-recovery-subject = Stellen Sie Ihr Konto wieder her
mail-admin-recovery-intro = Ein Administrator hat Ihnen diesen Wiederherstellungslink gesendet. Öffnen Sie ihn innerhalb von { $minutes } Minuten:
mail-admin-recovery-action = Konto wiederherstellen
mail-admin-recovery-after = Er funktioniert einmal und fragt nach Ihrem zweiten Faktor, falls Sie einen haben.

mail-recovered-subject = Ihr Konto wurde wiederhergestellt
mail-recovered-intro = Ihr latchkey-Konto wurde soeben mit einer neuen Anmeldemethode wiederhergestellt, und alle anderen Sitzungen wurden abgemeldet.
mail-recovered-if-not = Falls Sie das nicht waren, beenden Sie diese Sitzung jetzt und wenden Sie sich an Ihren Administrator:
mail-recovered-action = Das war ich nicht

mail-password-changed-subject = Ihr Passwort wurde geändert
mail-password-changed-intro = Das Passwort Ihres latchkey-Kontos wurde soeben geändert, und alle anderen Sitzungen wurden abgemeldet.
mail-password-changed-if-not = Falls Sie das nicht waren, wenden Sie sich sofort an Ihren Administrator.

mail-password-set-subject = Ihrem Konto wurde ein Passwort hinzugefügt
mail-password-set-intro = Ihrem latchkey-Konto wurde soeben ein Passwort hinzugefügt, und alle anderen Sitzungen wurden abgemeldet.

mail-password-removed-subject = Ihr Passwort wurde entfernt
mail-password-removed-intro = Das Passwort Ihres latchkey-Kontos wurde soeben entfernt: Sie melden sich jetzt mit Ihren Passkeys an. Alle anderen Sitzungen wurden abgemeldet.

mail-account-deleted-subject = Ihr Konto wurde gelöscht
mail-account-deleted-intro = Ihr latchkey-Konto wurde gelöscht, mit seinen Sitzungen, Passkeys und verbundenen Anwendungen.

mail-email-confirm-subject = Bestätigen Sie Ihre neue E-Mail-Adresse
mail-email-confirm-intro = Öffnen Sie diesen Link innerhalb von { $hours } Stunden, um dies zur Adresse Ihres latchkey-Kontos zu machen:
mail-email-confirm-action = Neue Adresse bestätigen
mail-email-confirm-after = Falls Sie das nicht angefordert haben, ignorieren Sie diese Nachricht.

mail-email-changed-subject = Ihre E-Mail-Adresse wurde geändert
mail-email-changed-intro = Die Adresse Ihres latchkey-Kontos wurde von dieser auf { $email } geändert.
mail-email-changed-if-not = Falls Sie das nicht waren, öffnen Sie diesen Link innerhalb von { $days } Tagen: Er stellt diese Adresse wieder her und meldet alle Sitzungen des Kontos ab.
mail-email-changed-action = Diese Adresse wiederherstellen

mail-email-restored-subject = Ihre E-Mail-Adresse wurde wiederhergestellt
mail-email-restored-intro = Diese Adresse ist wieder die Adresse Ihres latchkey-Kontos, und alle Sitzungen wurden abgemeldet. Verwenden Sie „Anmeldung nicht möglich?“, um ein neues Passwort oder einen Passkey festzulegen:
mail-email-restored-action = Anmeldung nicht möglich?

mail-mfa-reset-subject = Ihr zweiter Faktor wurde zurückgesetzt
mail-mfa-reset-intro = Ein Administrator hat die Authenticator-App und die Backup-Codes Ihres latchkey-Kontos entfernt und alle Sitzungen abgemeldet. Verwenden Sie „Anmeldung nicht möglich?“, um Ihre Anmeldung neu einzurichten:
mail-mfa-reset-action = Anmeldung nicht möglich?
mail-mfa-reset-after = Falls Sie das nicht angefordert haben, wenden Sie sich sofort an Ihren Administrator.

mail-new-device-subject = Neue Anmeldung bei Ihrem Konto
mail-new-device-intro = Jemand hat sich von einem Gerät, das wir in letzter Zeit nicht gesehen haben, bei Ihrem latchkey-Konto angemeldet:
mail-new-device-device = Gerät
mail-new-device-time = Zeit
mail-new-device-ip = IP-Adresse
mail-new-device-passkey = Passkey
mail-new-device-unknown = unbekannt
mail-new-device-unknown-device = Unbekanntes Gerät
mail-new-device-if-you = Falls Sie das waren, ist nichts zu tun.
mail-new-device-if-not = Falls Sie das nicht waren, beenden Sie diese Sitzung jetzt und ändern Sie dann Ihr Passwort:
mail-new-device-action = Das war ich nicht

## Riskante Anmeldungen (Issue #32): ein Code zur Bestätigung, oder die Nachricht, dass eine gestoppt wurde.
mail-sign-in-code-subject = Ihr Anmeldecode
mail-sign-in-code-intro = Jemand meldet sich mit Ihrem Passwort bei Ihrem latchkey-Konto an. Um die Anmeldung abzuschließen, muss dieser Code in den Browser eingegeben werden, der ihn angefordert hat:
mail-sign-in-code-code = Code
mail-sign-in-place = Ort
mail-sign-in-code-once = Der Code gilt einmal, { $minutes } Minuten lang und nur in diesem Browser. Geben Sie ihn niemandem weiter: Wir werden Sie nie danach fragen.
mail-sign-in-code-if-not = Falls Sie das nicht waren, kennt jemand Ihr Passwort. Verwenden Sie den Code nicht: Stoppen Sie diese Anmeldung jetzt und ändern Sie dann Ihr Passwort:
mail-sign-in-blocked-subject = Eine Anmeldung bei Ihrem Konto wurde gestoppt
mail-sign-in-blocked-intro = Jemand hat sich mit Ihrem Passwort bei Ihrem latchkey-Konto angemeldet, aber die Anmeldung sah nicht nach Ihnen aus, deshalb haben wir sie gestoppt:
mail-sign-in-blocked-if-you = Falls Sie das waren, melden Sie sich von einem Gerät an, das Sie schon benutzt haben, oder verwenden Sie „Anmeldung nicht möglich?“ auf der Anmeldeseite. Ein Passkey oder eine Authenticator-App auf Ihrer Kontoseite macht das beim nächsten Mal sicherer.
mail-sign-in-blocked-if-not = Falls Sie das nicht waren, kennt jemand Ihr Passwort. Ändern Sie es jetzt:
mail-sign-in-blocked-action = Passwort ändern

mail-credential-added-subject = Ihrem Konto wurde eine Anmeldemethode hinzugefügt
mail-credential-added-passkey = Ihrem latchkey-Konto wurde soeben ein Passkey namens „{ $name }“ hinzugefügt, und alle anderen Sitzungen wurden abgemeldet.
mail-credential-added-passkey-from = Ihrem latchkey-Konto wurde soeben ein Passkey namens „{ $name }“ hinzugefügt, gespeichert in { $provider }, und alle anderen Sitzungen wurden abgemeldet.
mail-credential-added-app = Für Ihr latchkey-Konto wurde soeben eine Authenticator-App eingerichtet, und alle anderen Sitzungen wurden abgemeldet.
mail-credential-added-codes = Für Ihr latchkey-Konto wurden soeben neue Backup-Codes erstellt (ältere funktionieren nicht mehr), und alle anderen Sitzungen wurden abgemeldet.
mail-credential-added-if-not = Falls Sie das nicht waren, beenden Sie diese Sitzung jetzt und entfernen Sie, was hinzugefügt wurde:
mail-credential-added-action = Das war ich nicht
mail-provider-linked-subject = Ein Konto eines anderen Anbieters wurde mit Ihrem verknüpft
mail-provider-linked-intro = Ihr Konto bei { $provider } wurde soeben mit Ihrem latchkey-Konto verknüpft: Es meldet Sie jetzt hier an.
mail-provider-unlinked-subject = Ein Konto eines anderen Anbieters wurde getrennt
mail-provider-unlinked-intro = Ihr Konto bei { $provider } meldet Sie nicht mehr bei Ihrem latchkey-Konto an, und alle anderen Sitzungen wurden abgemeldet.
mail-provider-unlinked-if-not = Falls Sie das nicht waren, setzen Sie Ihr Passwort zurück oder melden Sie sich mit einem Passkey an und prüfen Sie Ihr Konto.
mail-webhook-disabled-subject = Ein Webhook wurde abgeschaltet
mail-webhook-disabled-intro = Jede Zustellung an diesen Webhook ist einen Tag lang fehlgeschlagen, deshalb sendet latchkey nicht mehr dorthin. Ereignisse werden für ihn weiter aufbewahrt und der Reihe nach gesendet, sobald er wieder eingeschaltet ist.
mail-webhook-disabled-url = Adresse
mail-webhook-disabled-error = Letzter Fehler
mail-webhook-disabled-what = Beheben Sie den Fehler beim Empfänger und schalten Sie den Webhook dann in der Konsole (Webhooks) oder mit latchkey webhook enable wieder ein.
mail-webhook-disabled-action = Webhooks öffnen
