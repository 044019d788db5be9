"""Submission of jobs over HTTP and AMQP: the checks and plan of a registry, and the consumer."""
