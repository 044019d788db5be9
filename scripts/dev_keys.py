"""Create the development JWT key pair in .keys/ (git-ignored) unless it exists."""

from __future__ import annotations

import sys

from shared.settings import DEV_KEYS_DIR
from shared.tokens import generate_key_pair


def main() -> int:
    private_path = DEV_KEYS_DIR / "jwt_private.pem"
    public_path = DEV_KEYS_DIR / "jwt_public.pem"
    if private_path.exists() and public_path.exists():
        print(f"dev keys present in {DEV_KEYS_DIR}")
        return 0
    DEV_KEYS_DIR.mkdir(mode=0o700, exist_ok=True)
    private, public = generate_key_pair()
    private_path.write_bytes(private)
    private_path.chmod(0o600)
    public_path.write_bytes(public)
    print(f"generated dev keys in {DEV_KEYS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
