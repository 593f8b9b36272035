"""Runs scim2-tester's checks against a latchkey SCIM server.

Usage: check.py <base URL of /scim/v2> <bearer token>
Prints one JSON object a line: {"title", "status", "reason", "tags"}.
"""

import json
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server


def main() -> None:
    base, token = sys.argv[1], sys.argv[2]
    http = Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    client = SyncSCIMClient(http)
    client.discover()
    for result in check_server(client):
        print(json.dumps({
            "title": result.title,
            "status": result.status.name,
            "reason": str(result.reason or ""),
            "tags": sorted(result.tags or []),
        }))


if __name__ == "__main__":
    main()
