"""Training the plate reader: synthetic plates, real crops, the training run.

Kept out of the runtime package (setup.py) and the worker image: the pipeline
only loads the weights this produces.

- ``render``  synthetic plates and road frames (training data, tests, simulator).
- ``glyphs``  the stroke-drawn plate face for letters and digits.
- ``fonts/``  the CJK font subsets ``render`` draws provinces with.
- ``real``    the real crops' training and test halves, and their variation.
- ``train``   seeded training on synthetic data, then fine-tuning -> ``weights/``.
"""
