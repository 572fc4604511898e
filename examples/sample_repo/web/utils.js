// Timing helpers for UI event handlers (plain JavaScript, shared with older pages).

/**
 * Wrap a function so it only runs once the calls have stopped for `waitMs`
 * milliseconds; a burst of keystrokes results in a single call with the last args.
 */
export function debounce(fn, waitMs) {
  let timer = null;
  function debounced(...args) {
    if (timer !== null) {
      clearTimeout(timer);
    }
    timer = setTimeout(() => {
      timer = null;
      fn.apply(this, args);
    }, waitMs);
  }
  debounced.cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  return debounced;
}

/**
 * Wrap a function so it runs at most once per `intervalMs`; calls that arrive in
 * between are collapsed into one trailing call at the end of the window.
 */
export function throttle(fn, intervalMs) {
  let last = 0;
  let pending = null;
  return function throttled(...args) {
    const now = Date.now();
    const remaining = intervalMs - (now - last);
    if (remaining <= 0) {
      last = now;
      fn.apply(this, args);
    } else if (pending === null) {
      pending = setTimeout(() => {
        pending = null;
        last = Date.now();
        fn.apply(this, args);
      }, remaining);
    }
  };
}

/** Make sure a function body executes a single time no matter how often it is invoked. */
export function once(fn) {
  let done = false;
  let result;
  return (...args) => {
    if (!done) {
      done = true;
      result = fn(...args);
    }
    return result;
  };
}
