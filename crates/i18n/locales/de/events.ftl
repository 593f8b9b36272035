# Protokollereignisse in einfachen Worten (Protokoll der Konsole, Benutzerseite).
