from tests.integration.local.runner import local_bot

__all__ = ["local_bot"]
