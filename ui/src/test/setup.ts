import "@testing-library/jest-dom/vitest";
import { initI18n } from "../i18n";

// Tests read English strings; the browser language of the test runner must not matter.
initI18n("en");
