import jsonata from "jsonata";
import type { TagRule } from "../config/schema.js";
import { tagKey } from "./tag-diff.js";

interface CompiledRule {
  tag: string;
  source: string;
  expression: jsonata.Expression;
}

/** Tag rules compiled once at start; an invalid expression stops the start with its rule named. */
export class TagRules {
  private readonly rules: CompiledRule[];
  /** True when a rule mentions `appointments`, so contacts' appointments must be read. */
  readonly needsAppointments: boolean;

  constructor(rules: TagRule[]) {
    this.rules = rules.map((rule, index) => {
      try {
        return {
          tag: rule.tag,
          source: rule.when,
          expression: jsonata(rule.when),
        };
      } catch (error) {
        throw new Error(
          `mapping.tag_rules[${index}] (tag ${JSON.stringify(rule.tag)}): invalid JSONata in "when": ${(error as Error).message}`,
          { cause: error },
        );
      }
    });
    this.needsAppointments = rules.some((rule) =>
      /\bappointments\b/.test(rule.when),
    );
  }

  /** Whether a configured rule produces `tag`; tags of rules since removed are no longer owned. */
  owns(tag: string): boolean {
    const key = tagKey(tag);
    return this.rules.some((rule) => tagKey(rule.tag) === key);
  }

  get size(): number {
    return this.rules.length;
  }

  /**
   * Returns the tags whose rule holds for `contact`. A rule holds when its
   * expression gives a truthy value; an expression that fails counts as not
   * holding and is reported in `warnings`.
   */
  async evaluate(
    contact: Record<string, unknown>,
  ): Promise<{ tags: string[]; warnings: string[] }> {
    const tags: string[] = [];
    const warnings: string[] = [];
    for (const rule of this.rules) {
      try {
        const result: unknown = await rule.expression.evaluate(contact);
        if (isTruthy(result)) tags.push(rule.tag);
      } catch (error) {
        warnings.push(
          `tag rule ${JSON.stringify(rule.tag)} failed: ${(error as Error).message}`,
        );
      }
    }
    return { tags, warnings };
  }
}

function isTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(isTruthy);
  return (
    value !== undefined &&
    value !== null &&
    value !== false &&
    value !== 0 &&
    value !== ""
  );
}
