"""Build the project image from its Dockerfile without Docker (see __main__.py)."""
