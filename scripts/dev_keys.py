"""Create the development JWT key pair unless it exists.

Writes into JWT_KEYS_DIR when set (a shared volume in compose), else .keys/ (git-ignored).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from shared.settings import DEV_KEYS_DIR
from shared.tokens import generate_key_pair


def main() -> int:
    keys_dir = Path(os.environ.get("JWT_KEYS_DIR") or DEV_KEYS_DIR)
    private_path = keys_dir / "jwt_private.pem"
    public_path = keys_dir / "jwt_public.pem"
    if private_path.exists() and public_path.exists():
        print(f"dev keys present in {keys_dir}")
        return 0
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    private, public = generate_key_pair()
    private_path.write_bytes(private)
    private_path.chmod(0o600)
    public_path.write_bytes(public)
    print(f"generated dev keys in {keys_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
