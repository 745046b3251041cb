"""The top layer: the paper's pipeline and the ``selfdpo`` command line.

``paper.cli`` is the root dispatcher; ``paper.experiments`` holds one experiment per claim (its
sweep spec, its run on sim's engine, its decision rule producing claim rows); ``paper.claims``
the row type and the report writers; ``paper.reproduce`` the build that runs the experiments,
draws the figures (figures/) and assembles the paper (main.tex, theory.md, model.md here).
"""
