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
