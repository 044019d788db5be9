"""The chat service: a stateless assistant that manages the caller's todos through tools."""
