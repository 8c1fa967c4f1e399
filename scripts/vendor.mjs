// Copies the pinned front-end files from node_modules into static/vendor/ (committed).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";

const files = {
  "@picocss/pico/css/pico.min.css": "pico.min.css",
  "chart.js/dist/chart.umd.min.js": "chart.umd.min.js",
  "sortablejs/Sortable.min.js": "Sortable.min.js",
};
mkdirSync("static/vendor", { recursive: true });
const versions = [];
for (const [source, target] of Object.entries(files)) {
  copyFileSync(`node_modules/${source}`, `static/vendor/${target}`);
  const pkg = source.startsWith("@") ? source.split("/").slice(0, 2).join("/") : source.split("/")[0];
  const { version, license } = JSON.parse(readFileSync(`node_modules/${pkg}/package.json`, "utf8"));
  versions.push(`${target}\t${pkg}@${version}\t${license}`);
}
writeFileSync("static/vendor/VERSIONS.txt", versions.join("\n") + "\n");
console.log(versions.join("\n"));
