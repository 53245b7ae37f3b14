"""
Exercise: which day of the week is it?
======================================

A classification exercise: guess the weekday (0 = Monday to
6 = Sunday) from how a person spent the day -- hours of physical activity,
hours of sleep and hours of work. The data are generated here: working days
have long working hours and little activity, Friday a shorter day and a
sporty evening, weekends long nights and no work. Some days look alike,
which limits what any classifier can do; the confusion matrix shows where.
"""

# %%
# The data
# --------
import numpy as np

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
#                  Mon  Tue  Wed  Thu  Fri  Sat  Sun
WORK_HOURS = np.array([9.0, 8.5, 8.0, 8.5, 6.5, 1.0, 0.5])
SLEEP_HOURS = np.array([6.6, 7.0, 7.2, 6.8, 6.4, 8.8, 8.2])
ACTIVITY_HOURS = np.array([0.8, 1.2, 1.8, 1.0, 2.6, 4.0, 3.0])

rng = np.random.RandomState(0)
day = np.repeat(np.arange(7), 200)
work = np.clip(WORK_HOURS[day] + rng.normal(scale=0.7, size=day.size), 0, None)
sleep = SLEEP_HOURS[day] + rng.normal(scale=0.6, size=day.size)
activity = np.clip(ACTIVITY_HOURS[day] + rng.normal(scale=0.5, size=day.size), 0, None)
X = np.c_[activity, sleep, work]
y = day

import matplotlib.pyplot as plt

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
for d, name in enumerate(DAYS):
    mask = y == d
    ax1.scatter(work[mask], activity[mask], s=6, label=name)
    ax2.scatter(work[mask], sleep[mask], s=6, label=name)
ax1.set_xlabel("work (h)")
ax1.set_ylabel("activity (h)")
ax2.set_xlabel("work (h)")
ax2.set_ylabel("sleep (h)")
ax2.legend(markerscale=3, fontsize="small", ncol=2)
fig.suptitle("200 days of each weekday")
fig.tight_layout()
plt.show()

# %%
# Fit a classifier
# ----------------
# A pipeline scales the three features for a network with two hidden layers;
# the score is the accuracy and the macro-averaged F1 on a held-out quarter.
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import NeuralClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
model = make_pipeline(
    StandardScaler(),
    NeuralClassifier(hidden_layer_sizes=(32, 16), max_iter=300, random_state=0),
).fit(X_train, y_train)
y_pred = model.predict(X_test)
print(f"accuracy {model.score(X_test, y_test):.3f}")
print(f"macro F1 {f1_score(y_test, y_pred, average='macro'):.3f}")
print(f"chance level {1 / 7:.3f}")

weekend_true = y_test >= 5
weekend_pred = y_pred >= 5
print(f"weekend vs working day right for {np.mean(weekend_true == weekend_pred):.3f}")

# %%
# Where the mistakes are
# ----------------------
# Saturday, Sunday and Friday are recognised well. Monday to Thursday differ
# only slightly in their averages and overlap widely, so they are confused
# with each other: the features do not contain the answer, and no model can
# do much better.
from sklearn.metrics import ConfusionMatrixDisplay

fig, ax = plt.subplots(figsize=(5.5, 5))
ConfusionMatrixDisplay.from_predictions(
    y_test,
    y_pred,
    display_labels=DAYS,
    ax=ax,
    colorbar=False,
    normalize="true",
    values_format=".2f",
)
ax.set_title("Confusion matrix (rows sum to 1)")
plt.show()

# %%
# The predicted probabilities for three typical days: ``predict_proba``
# spreads the probability over the days that look alike.
examples = np.array(
    [
        [1.0, 7.0, 8.5],  # little activity, normal night, long working day
        [2.7, 6.4, 6.5],  # sporty evening, short night, shorter working day
        [4.0, 9.0, 0.0],  # long night, no work, very active
    ]
)
proba = model.predict_proba(examples)
fig, axes = plt.subplots(1, 3, figsize=(11, 2.8), sharey=True)
for ax, p, (a, s, w) in zip(axes, proba, examples):
    ax.bar(DAYS, p, color="tab:purple")
    ax.set_title(f"activity {a:g} h, sleep {s:g} h, work {w:g} h", fontsize="medium")
axes[0].set_ylabel("predicted probability")
fig.tight_layout()
plt.show()
