"""Randomized cost-table quizzes for the "CNN Architectures" unit.

    model.py            Question / Quiz / Choice: what a quiz is, independent of formats
    calculator.py       the one calculator: a question's value from its layers with a set
                        of formulas (the reference -> the answer; a catalogued mistake from
                        solutions.mistakes swapped in -> that mistake's wrong answer)
    templates.py        small functions (random.Random, difficulty) -> Question
    variants.py         seeds (hashlib), slots, per-variant / per-student generators
    export_qti.py       Canvas classic-quiz QTI 1.2 zip (text2qti's XML templates),
    export_markdown.py  the printable handout (a page per student, no answers) and the
                        instructor's Markdown key,
    export_key.py       the JSON answer key: writers that know nothing of CNNs
    csvio.py            rosters, responses and keys read with file + line in every error
    grade.py            scoring with tolerances and naming the mistake behind wrong answers
    plots.py            stacked bars of mistakes per question
    generate.py         `quiz generate` as one library call

Accepted inputs (see csvio.read_roster and grade.read_responses):
- roster CSV: a header row; the student id is the `id` column, or Canvas's gradebook
  export's `ID` (preferred) or `SIS User ID`; the name is `name` or Canvas's `Student`,
  optional. Canvas's "Points Possible" row is skipped; empty or repeated ids are errors.
- responses CSV, simple: columns `student`, `question`, `response` (any order and case;
  `answer` works for `response`, both is refused). `question` is a key id (q03v002,
  q03-1a2b3c4d) or, for a roster key, the question's slot (q03) together with the student.
  A multiple-choice response may be the letter printed on the handout (A, b).
- responses CSV, Canvas classic quiz "Student Analysis" export: `name`, `id`, `sis_id`,
  section columns, `submitted`, `attempt`, then per question a column headed
  '<canvas id>: <question text>' (optionally followed by its points column), then
  `n correct`, `n incorrect`, `score`. A question column is matched to the key by the
  '[<key id>]' tag that starts every generated question text (or a header prefix that is
  a key id). Empty cells are questions the student did not get (a student with every
  cell empty scores 0); a later row of the same student (another attempt) replaces the
  earlier one.
- responses are read leniently: '1,234', '1 234', '12.25 KB', '3e6'; shapes as
  '(64, 56, 56)', '64x56x56', '[64 56 56]', '(1,024, 56, 56)', or H x W x C ('56x56x64').
- a response row that cannot be graded (unknown student or question, a second answer) is
  skipped and reported with its file and line (grade.read_responses); the rest is graded.
"""
