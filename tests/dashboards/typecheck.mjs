// Type-check grafana/dashboards/*.json against the pinned @grafana/schema with TypeScript.
// For each dashboard a .ts file is written to .typecheck/ (git-ignored):
//   - the whole JSON `satisfies Dashboard` (excess-property checks catch unknown keys),
//   - each panel's `options` and `fieldConfig.defaults.custom` `satisfies Partial<...>` of that
//     panel type's generated types (timeseries, stat, table, piechart, barchart), which the
//     Dashboard type leaves as Record<string, unknown>.
// Then `tsc --strict --noEmit` runs over them; its exit code is ours.
// Usage: node tests/dashboards/typecheck.mjs [dashboard.json ...]   (npm ci first)
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const outDir = join(here, ".typecheck");
const dashboardsDir = join(root, "grafana", "dashboards");

// panel type -> [module of its generated types, whether it has a FieldConfig (custom) type]
const panelTypes = {
  timeseries: ["timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen", true],
  stat: ["stat/panelcfg/x/StatPanelCfg_types.gen", false],
  table: ["table/panelcfg/x/TablePanelCfg_types.gen", true],
  piechart: ["piechart/panelcfg/x/PieChartPanelCfg_types.gen", true],
  barchart: ["barchart/panelcfg/x/BarChartPanelCfg_types.gen", true],
};

// The schema types use TypeScript string enums (ThresholdsMode.Absolute = "absolute", ...), to
// which the plain strings of a JSON file are not assignable. Json<T> is T with every string enum
// replaced by the union of its values (`${E}`), i.e. exactly what a JSON file can contain.
const jsonType = `type Json<T> = T extends string ? \`\${T}\`
  : T extends readonly (infer U)[] ? Json<U>[]
  : T extends object ? { [K in keyof T]: Json<T[K]> }
  : T;`;

const files = process.argv.length > 2
  ? process.argv.slice(2).map((f) => resolve(f))
  : readdirSync(dashboardsDir).filter((f) => f.endsWith(".json")).map((f) => join(dashboardsDir, f));
if (files.length === 0) {
  console.error("no dashboards found");
  process.exit(2);
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const tsFiles = [];
for (const file of files) {
  const dashboard = JSON.parse(readFileSync(file, "utf8"));
  const lines = ['import type { Dashboard } from "@grafana/schema";', jsonType];
  for (const [type, [path, hasFieldConfig]] of Object.entries(panelTypes)) {
    const names = [`Options as ${type}Options`];
    if (hasFieldConfig) names.push(`FieldConfig as ${type}FieldConfig`);
    lines.push(`import type { ${names.join(", ")} } from "@grafana/schema/dist/esm/raw/composable/${path}";`);
  }
  lines.push(`export const dashboard = ${JSON.stringify(dashboard, null, 2)} satisfies Json<Dashboard>;`);
  const panels = (dashboard.panels ?? []).flatMap((p) => (p.type === "row" ? p.panels ?? [] : [p]));
  for (const panel of panels) {
    if (!(panel.type in panelTypes)) {
      console.error(`${basename(file)}: panel ${panel.id} has type ${panel.type}, which this check does not know`);
      process.exit(2);
    }
    lines.push(`export const panel${panel.id}Options = ${JSON.stringify(panel.options ?? {})} ` +
      `satisfies Partial<Json<${panel.type}Options>>;`);
    const custom = panel.fieldConfig?.defaults?.custom ?? {};
    const customType = panelTypes[panel.type][1] ? `Partial<Json<${panel.type}FieldConfig>>` : "Record<string, never>";
    lines.push(`export const panel${panel.id}Custom = ${JSON.stringify(custom)} satisfies ${customType};`);
  }
  const tsFile = join(outDir, basename(file, ".json") + ".ts");
  writeFileSync(tsFile, lines.join("\n") + "\n");
  tsFiles.push(tsFile);
}

const tsc = join(here, "node_modules", "typescript", "bin", "tsc");
try {
  execFileSync(process.execPath, [tsc, "--strict", "--noEmit", "--module", "nodenext",
    "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", ...tsFiles],
    { cwd: here, stdio: "inherit" });
} catch (err) {
  process.exit(err.status ?? 1);
}
console.log(`type-checked ${tsFiles.length} dashboard(s) against @grafana/schema`);
