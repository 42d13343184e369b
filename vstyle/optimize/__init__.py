"""Quality mode for stills (``vstyle image --optimize``): Gatys-style optimisation of the output's pixels
against content and style losses on the frozen training loss network (never the evaluation's judge).

* :mod:`.objective`: the loss (content features, style mean/std, pixel jitter) on a loss network;
* :mod:`.still`: the optimiser (Adam or L-BFGS, coarse to fine, best image kept);
* :mod:`.job`: photos in, outputs written, the best image so far kept on Ctrl-C.
"""
