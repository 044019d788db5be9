"""Context generation itself, without I/O: registry, plan, context file, verification, summary."""
