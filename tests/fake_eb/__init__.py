"""The fake EB CLI (`eb` in this directory) and its pytest fixture (`fake_eb.fixtures`)."""
