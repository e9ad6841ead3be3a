"""The catalogue's mistakes in `cnn_architectures` (solutions/mistakes/cnn_architectures.py) as
the checks' tests make them: (id, question whose checks must fail, edits of the reference's
source, a phrase the feedback must contain); and edits that must pass."""
from solutions import mistakes

REF = "solutions.cnn_architectures"

MISTAKES = [(m.id, m.question, m.edits, m.phrase)
            for m in mistakes.of("cnn_architectures") if m.phrase]

# Edits that change nothing a check can or should see: they must pass.
HARMLESS = [
    ("relu_not_inplace", [("self.relu = nn.ReLU(inplace=True)\n        self.conv2",
                           "self.relu = nn.ReLU()\n        self.conv2")]),
    ("vgg_dropout_before_relu", [("nn.Linear(512 * 7 * 7, 4096),\n            nn.ReLU(inplace=True),\n"
                                  "            nn.Dropout(p=dropout),",
                                  "nn.Linear(512 * 7 * 7, 4096),\n            nn.Dropout(p=dropout),\n"
                                  "            nn.ReLU(inplace=True),")]),
]
