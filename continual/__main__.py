import sys

try:
    from continual.cli import main

    code = main()
except KeyboardInterrupt:  # Ctrl-C while still importing, or after the command's handlers
    print("interrupted", file=sys.stderr)
    code = 130
raise SystemExit(code)
