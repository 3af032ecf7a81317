"""The CLI commands, one module per command group; ``revgov.cli`` assembles them."""
