"""Copy the front-end assets pinned in package.json from node_modules into static/vendor.

Run by 'make vendor' after 'npm ci'. The copies are committed, so running
Nimbus never needs npm or a network.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = {
    "htmx.org/dist/htmx.min.js": "htmx/htmx.min.js",
    "htmx-ext-ws/dist/ws.min.js": "htmx/ws.min.js",
    "bootstrap/dist/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "bootstrap/dist/js/bootstrap.bundle.min.js": "bootstrap/bootstrap.bundle.min.js",
    "bootstrap/LICENSE": "bootstrap/LICENSE",
    "htmx.org/LICENSE": "htmx/LICENSE",
}

for source, target in FILES.items():
    destination = ROOT / "static" / "vendor" / target
    destination.parent.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "node_modules" / source).read_text()
    # Source maps are not vendored; a dangling reference would break collectstatic's manifest.
    destination.write_text(re.sub(r"\n?/[/*]# sourceMappingURL=\S+(?: \*/)?\s*$", "\n", text))
    print(f"static/vendor/{target}")
