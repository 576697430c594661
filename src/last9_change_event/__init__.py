"""Mark deployments in Last9: send change events from GitHub Actions or any shell."""

__version__ = "1.0.0"
