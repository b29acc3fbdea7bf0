try:
    from continual.cli import main
except KeyboardInterrupt:  # Ctrl-C while still importing
    import sys

    print("interrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())
