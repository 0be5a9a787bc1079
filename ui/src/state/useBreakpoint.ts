/** Desktop / tablet / phone, from the viewport width (Tailwind's md and xl breakpoints). */
import { useSyncExternalStore } from "react";

export type Breakpoint = "phone" | "tablet" | "desktop";

export function breakpointFor(width: number): Breakpoint {
  if (width < 768) return "phone";
  if (width < 1280) return "tablet";
  return "desktop";
}

const subscribe = (cb: () => void) => {
  window.addEventListener("resize", cb);
  return () => window.removeEventListener("resize", cb);
};

export function useBreakpoint(): Breakpoint {
  return useSyncExternalStore(subscribe, () => breakpointFor(window.innerWidth), () => "desktop");
}
