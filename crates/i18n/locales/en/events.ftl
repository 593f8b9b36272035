# Audit events in plain words (the console's audit log, a user's page).
