"""The contexts service: context-generation jobs (HTTP and AMQP intake) and their worker."""
