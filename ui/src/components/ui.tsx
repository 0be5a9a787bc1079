/**
 * Small presentational primitives. Dialogs are Radix (focus trap, Escape, aria wiring for free);
 * selects are native because they are the most accessible select on every platform, phones
 * included.
 */
import * as RDialog from "@radix-ui/react-dialog";
import type { ButtonHTMLAttributes, ReactNode, SelectHTMLAttributes } from "react";

const cx = (...c: (string | false | undefined)[]) => c.filter(Boolean).join(" ");

type Variant = "primary" | "secondary" | "ghost" | "danger";
const variants: Record<Variant, string> = {
  primary: "bg-emerald-600 text-white hover:bg-emerald-700 disabled:bg-emerald-600/40",
  secondary: "bg-zinc-200 text-zinc-900 hover:bg-zinc-300 dark:bg-zinc-700 dark:text-zinc-100 dark:hover:bg-zinc-600 disabled:opacity-50",
  ghost: "text-zinc-700 hover:bg-zinc-200 dark:text-zinc-200 dark:hover:bg-zinc-700 disabled:opacity-50",
  danger: "bg-red-600 text-white hover:bg-red-700 disabled:opacity-50",
};

export function Button({ variant = "secondary", compact = false, className, ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant; compact?: boolean }) {
  return (
    <button
      type="button"
      className={cx(
        "inline-flex items-center gap-1.5 rounded-md py-1.5 text-sm font-medium focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:cursor-not-allowed",
        compact ? "px-2" : "px-3",
        variants[variant],
        className,
      )}
      {...rest}
    />
  );
}

export function Select({ label, className, children, ...rest }: SelectHTMLAttributes<HTMLSelectElement> & { label: string }) {
  return (
    <select
      aria-label={label}
      className={cx(
        "rounded-md border border-zinc-300 bg-white px-2 py-1.5 text-sm text-zinc-900 focus-visible:outline-2 focus-visible:outline-sky-500 dark:border-zinc-600 dark:bg-zinc-800 dark:text-zinc-100",
        className,
      )}
      {...rest}
    >
      {children}
    </select>
  );
}

export function Dialog(props: { open: boolean; onOpenChange: (o: boolean) => void; title: string; description?: string; children: ReactNode }) {
  return (
    <RDialog.Root open={props.open} onOpenChange={props.onOpenChange}>
      <RDialog.Portal>
        <RDialog.Overlay className="fixed inset-0 z-40 bg-black/40" />
        <RDialog.Content className="fixed top-1/2 left-1/2 z-50 max-h-[85vh] w-[min(92vw,28rem)] -translate-x-1/2 -translate-y-1/2 overflow-auto rounded-lg bg-white p-5 text-zinc-900 shadow-xl dark:bg-zinc-800 dark:text-zinc-100">
          <RDialog.Title className="mb-2 text-lg font-semibold">{props.title}</RDialog.Title>
          {props.description ? <RDialog.Description className="mb-4 text-sm text-zinc-600 dark:text-zinc-300">{props.description}</RDialog.Description> : <RDialog.Description className="sr-only">{props.title}</RDialog.Description>}
          {props.children}
        </RDialog.Content>
      </RDialog.Portal>
    </RDialog.Root>
  );
}

export const DialogClose = RDialog.Close;

/** Initials on the person's colour; the colour is also their cursor's, which ties the two. */
export function Avatar({ name, colour, size = 28 }: { name: string; colour: string; size?: number }) {
  const initials = name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => [...w][0]?.toUpperCase() ?? "")
    .join("");
  return (
    <span
      aria-hidden="true"
      className="inline-flex shrink-0 items-center justify-center rounded-full text-xs font-semibold text-white ring-2 ring-white dark:ring-zinc-900"
      style={{ background: colour, width: size, height: size }}
    >
      {initials || "?"}
    </span>
  );
}

const badgeColours: Record<string, string> = {
  interviewer: "bg-violet-100 text-violet-800 dark:bg-violet-900/60 dark:text-violet-200",
  candidate: "bg-sky-100 text-sky-800 dark:bg-sky-900/60 dark:text-sky-200",
  spectator: "bg-zinc-200 text-zinc-700 dark:bg-zinc-700 dark:text-zinc-200",
  warn: "bg-amber-100 text-amber-800 dark:bg-amber-900/60 dark:text-amber-200",
};

export function Badge({ kind, children }: { kind: string; children: ReactNode }) {
  return <span className={cx("rounded px-1.5 py-0.5 text-xs font-medium", badgeColours[kind] ?? badgeColours.spectator)}>{children}</span>;
}

export { cx };
