# The admin console (/admin): navigation, layout and the pages' own words.
# Audit event names and outcomes are in events.ftl.

console-nav = Admin console
console-title = { $page } · Admin
console-overview = Overview
console-users = Users
console-clients = Clients
console-audit = Audit log
console-keys = Signing keys
console-providers = Sign-in providers
console-copy-id = Copy the full id
console-id = Id
console-cancel = Cancel
console-delete-user = Delete user
console-confirm-delete-user = Delete { $username }?
console-confirm-sessions-end = { $count ->
    [one] Their one session ends.
   *[other] Their { $count } sessions end.
}
console-confirm-grants-revoked = { $count ->
    [one] The one app they allowed loses its access.
   *[other] The { $count } apps they allowed lose their access.
}
