"""Model backends: a local transformers VLM and any OpenAI-compatible server, both as
LangChain chat models whose replies reach the graph as tool calls."""
