// Display conditions (表示条件), mirroring app/forms/conditions.py: a comparison holds
// only when its field is itself shown and answered; not_equals is the negation of
// equals (true when the field is hidden or unanswered). The server stays the authority.

const OPERATORS = [
  "equals",
  "not_equals",
  "in",
  "contains",
  "greater_than",
  "greater_or_equal",
  "less_than",
  "less_or_equal",
];

export function holds(condition, answers, visible) {
  if (condition == null) return true;
  if (Array.isArray(condition.all)) return condition.all.every((c) => holds(c, answers, visible));
  if (Array.isArray(condition.any)) return condition.any.some((c) => holds(c, answers, visible));
  if ("not" in condition) return !holds(condition.not, answers, visible);
  const operator = OPERATORS.find((name) => name in condition);
  if (operator === "not_equals") {
    return !compares(condition.field, "equals", condition.not_equals, answers, visible);
  }
  return compares(condition.field, operator, condition[operator], answers, visible);
}

/** Which top-level fields are shown: their step's `when` and their own `when` hold. */
export function topLevelVisibility(definition, answers) {
  const visible = {};
  for (const step of definition.steps) {
    const stepShown = holds(step.when, answers, visible);
    for (const field of step.fields) {
      visible[field.key] = stepShown && holds(field.when, answers, visible);
    }
  }
  return visible;
}

/** Visibility of a group item's fields (conditions see only earlier fields of the item). */
export function itemVisibility(groupField, item) {
  const visible = {};
  for (const field of groupField.fields) visible[field.key] = holds(field.when, item, visible);
  return visible;
}

export function isAnswered(value) {
  if (value == null) return false;
  if (typeof value === "string") return value.trim() !== "";
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.values(value).some(isAnswered);
  return true;
}

function sameValue(answer, operand) {
  // JSON equality: true is not 1.
  return typeof answer === typeof operand && answer === operand;
}

function compares(key, operator, operand, answers, visible) {
  if (!visible[key] || !isAnswered(answers[key])) return false;
  const answer = answers[key];
  switch (operator) {
    case "equals":
      return sameValue(answer, operand);
    case "in":
      return operand.some((choice) => sameValue(answer, choice));
    case "contains":
      return Array.isArray(answer) && answer.some((item) => sameValue(item, operand));
    default:
      if (typeof answer !== "number") return false;
      if (operator === "greater_than") return answer > operand;
      if (operator === "greater_or_equal") return answer >= operand;
      if (operator === "less_than") return answer < operand;
      return answer <= operand;
  }
}
