"""One-line integrations with agent frameworks. Each module imports its framework lazily:
install the matching extra (``runtime-identity[langchain]``, ``[openai-agents]``, ``[mcp]``)."""
