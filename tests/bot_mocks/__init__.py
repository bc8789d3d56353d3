"""Local stand-ins for the chat platforms' HTTP APIs (the only things the bot tests fake)."""
