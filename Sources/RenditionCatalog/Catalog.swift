import Blur
import Crop
import Encode
import Flip
import Orient
import Pad
public import RenditionCore
import Resize
import Rotate
import Sharpen
import Trim
import Watermark

/// The stages this build of Rendition ships, registered explicitly. A new stage module is one line here.
public enum Catalog {
    public static let registry = StageRegistry([
        Orient.self,
        Crop.self,
        Resize.self,
        Pad.self,
        Trim.self,
        Rotate.self,
        Flip.self,
        Sharpen.self,
        Blur.self,
        Watermark.self,
        Encode.self,
    ])
}
