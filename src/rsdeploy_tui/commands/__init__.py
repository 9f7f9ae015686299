"""One module per sub-command; each exposes ``run(args: argparse.Namespace) -> int``."""
