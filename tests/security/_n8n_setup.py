"""The n8n login setup exactly as docs/n8n.md writes it."""

from __future__ import annotations

import re

from conductor_dev import installer

MARKER = "<!-- n8n-login-setup"


def documented_setup_sql(role: str) -> str:
    """The SQL block after the marker in docs/n8n.md, with the login named `role`."""
    text = (installer.ROOT / "docs" / "n8n.md").read_text()
    block = re.search(re.escape(MARKER) + r".*?```sql\n(.*?)```", text, re.DOTALL)
    assert block, "docs/n8n.md lost its n8n login setup block"
    return re.sub(r"\bn8n\b", role, block.group(1))
