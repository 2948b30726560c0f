"""`python -m mcp_livechat`."""

from mcp_livechat.cli import main

if __name__ == "__main__":
    main()
