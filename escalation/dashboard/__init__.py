"""The interactive page: a local server that runs scenarios and draws their tempo."""
