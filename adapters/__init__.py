"""Platform adapters: translate the core's neutral types to a platform and render them."""
